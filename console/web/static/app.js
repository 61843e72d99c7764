// The Choreo console's pages. Every value shown comes from the console's
// JSON API and is put in the page as text (textContent, text nodes,
// setAttribute): no HTML is ever built from data.
(() => {
  'use strict';

  const SVGNS = 'http://www.w3.org/2000/svg';
  const TOKEN = document.querySelector('meta[name="choreo-token"]').content;
  const PAGE = document.body.dataset.page;
  const ORDER_ID = document.body.dataset.orderId || '';
  const main = document.getElementById('main');

  // ---- DOM helpers ------------------------------------------------------

  // h builds an element: props are attributes (class, href, title, …),
  // `on` a map of event handlers; children are nodes or strings (as text).
  function h(tag, props, ...kids) {
    return build(document.createElement(tag), props, kids);
  }

  // s builds an SVG element the same way.
  function s(tag, props, ...kids) {
    return build(document.createElementNS(SVGNS, tag), props, kids);
  }

  function build(el, props, kids) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, kids);
    return el;
  }

  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      el.append(typeof k === 'object' ? k : String(k)); // a string becomes a text node
    }
    return el;
  }

  function replace(el, ...kids) {
    el.replaceChildren();
    return append(el, kids);
  }

  // ---- formatting ---------------------------------------------------------

  function money(cents, currency) {
    const sign = cents < 0 ? '-' : '';
    const u = Math.abs(cents);
    return sign + Math.floor(u / 100) + '.' + String(u % 100).padStart(2, '0') + (currency ? ' ' + currency : '');
  }

  function dur(seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 1) return Math.round(seconds * 1000) + 'ms';
    if (seconds < 60) return (Math.round(seconds * 10) / 10) + 's';
    if (seconds < 3600) return Math.floor(seconds / 60) + 'm' + String(Math.floor(seconds % 60)).padStart(2, '0') + 's';
    return Math.floor(seconds / 3600) + 'h' + String(Math.floor((seconds % 3600) / 60)).padStart(2, '0') + 'm';
  }

  function ms(v) {
    if (v < 1) return (Math.round(v * 100) / 100) + 'ms';
    if (v < 1000) return (Math.round(v * 10) / 10) + 'ms';
    return dur(v / 1000);
  }

  function since(iso) {
    return dur((Date.now() - Date.parse(iso)) / 1000) + ' ago';
  }

  function clock(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }

  function stamp(iso) {
    const d = new Date(iso);
    return d.toLocaleDateString() + ' ' + d.toLocaleTimeString([], { hour12: false });
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + ' MiB';
    return (n / (1 << 30)).toFixed(2) + ' GiB';
  }

  function badge(text, kind) {
    return h('span', { class: 'badge ' + (kind || text) }, text);
  }

  function statusBadge(status) {
    const kind = { completed: 'ok', cancelled: 'bad', pending: 'wait', paid: 'wait', reserved: 'wait' }[status] || 'wait';
    return h('span', { class: 'badge ' + kind, 'data-status': status }, status);
  }

  function note(text, kind) {
    return h('p', { class: 'alert ' + (kind || 'error') }, text);
  }

  // ---- requests -----------------------------------------------------------

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new Error((data && data.error) || (resp.status + ' ' + resp.statusText));
    return data;
  }

  async function post(url) {
    const resp = await fetch(url, { method: 'POST', headers: { 'X-Choreo-Token': TOKEN, Accept: 'application/json' } });
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new Error((data && data.error) || (resp.status + ' ' + resp.statusText));
    return data;
  }

  // debounce runs fn at most once per wait, after the last call.
  function debounce(fn, wait) {
    let timer = null;
    let last = 0;
    return () => {
      if (timer) return;
      const delay = Math.max(0, last + wait - Date.now());
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, delay);
    };
  }

  // ---- live updates ---------------------------------------------------------

  const listeners = { overview: [], moved: [] };
  let lastOverview = null;

  function live() {
    const badgeEl = document.getElementById('live');
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => {
      badgeEl.textContent = 'live';
      badgeEl.className = 'live on';
    });
    es.addEventListener('error', () => {
      badgeEl.textContent = 'reconnecting…';
      badgeEl.className = 'live off';
    });
    es.addEventListener('overview', (e) => {
      const o = JSON.parse(e.data);
      lastOverview = o;
      navCount(o);
      for (const fn of listeners.overview) fn(o);
    });
    es.addEventListener('moved', (e) => {
      const m = JSON.parse(e.data);
      for (const fn of listeners.moved) fn(m);
    });
  }

  function navCount(o) {
    const el = document.getElementById('nav-dlq');
    const n = o.dead_letters.total;
    el.hidden = !n;
    el.textContent = String(n);
    el.className = 'count' + (o.dead_letters.recent > 0 ? ' hot' : '');
  }

  // ---- overview -------------------------------------------------------------

  function overviewPage() {
    const alertsEl = h('section', { id: 'alerts', class: 'alerts' });
    const servicesEl = h('div', { id: 'services', class: 'grid services' });
    const sagasEl = h('div', { id: 'sagas-chart' });
    const lagEl = h('div', { id: 'lag' });
    const dlqEl = h('div', { id: 'dlq-summary' });
    const streamsEl = h('div', { id: 'streams' });
    const natsEl = h('p', { id: 'nats', class: 'muted' });
    replace(main,
      h('h1', {}, 'Overview'),
      alertsEl,
      h('h2', {}, 'Services'), servicesEl,
      h('div', { class: 'cols' },
        h('section', { class: 'card wide' }, h('h2', {}, 'Sagas'), sagasEl),
        h('section', { class: 'card' }, h('h2', {}, 'Dead letters'), dlqEl)),
      h('section', { class: 'card' }, h('h2', {}, 'Consumer lag'), lagEl),
      h('section', { class: 'card' }, h('h2', {}, 'Streams'), streamsEl),
      natsEl);
    const render = (o) => {
      renderAlerts(alertsEl, o);
      renderServices(servicesEl, o);
      renderSagaChart(sagasEl, o);
      renderLag(lagEl, o);
      renderDLQSummary(dlqEl, o);
      renderStreams(streamsEl, o);
      replace(natsEl, 'NATS: ', o.nats.connected ? 'connected' : o.nats.status, o.nats.url ? ' (' + o.nats.url + ')' : '',
        ' · read ', clock(o.at));
    };
    listeners.overview.push(render);
    getJSON('/api/overview').then((o) => { if (!lastOverview) render(o); }).catch((e) => replace(alertsEl, note('The overview cannot be read: ' + e.message)));
  }

  function renderAlerts(el, o) {
    if (o.alerts.length === 0) {
      replace(el, h('p', { class: 'alert ok' }, 'All is well: every service that serves its readiness is ready, no backlog is growing, no dead letters wait.'));
      return;
    }
    replace(el, o.alerts.map((a) => h('p', { class: 'alert ' + a.level },
      a.text, a.link ? [' ', h('a', { href: a.link }, 'Look')] : null)));
  }

  function renderServices(el, o) {
    replace(el, o.services.map((svc) => {
      let state, kind;
      if (!svc.served) { state = 'no HTTP endpoint'; kind = 'muted'; }
      else if (!svc.reachable) { state = 'unreachable'; kind = 'bad'; }
      else if (!svc.ready) { state = 'not ready'; kind = 'bad'; }
      else { state = 'ready'; kind = 'ok'; }
      const failing = svc.checks.filter((c) => !c.ok);
      const m = svc.metrics || {};
      const facts = [];
      if ('choreo_outbox_entries' in m) {
        facts.push(['outbox', String(m.choreo_outbox_entries) + (m.choreo_outbox_entries > 0 ? ' (oldest ' + dur(m.choreo_outbox_oldest_age_seconds) + ')' : '')]);
      }
      if ('choreo_dead_letters' in m) facts.push(['dead letters', String(m.choreo_dead_letters)]);
      if ('choreo_sagas_in_flight' in m) facts.push(['in flight', String(m.choreo_sagas_in_flight)]);
      if ('choreo_sagas_stuck' in m) facts.push(['stuck', String(m.choreo_sagas_stuck)]);
      return h('section', { class: 'card service ' + kind, 'data-service': svc.name },
        h('h3', {}, svc.name, ' ', badge(state, kind)),
        !svc.served ? h('p', { class: 'muted' }, 'Its readiness and metrics are not served (CHOREO_HTTP_ADDR off).') : null,
        svc.served && !svc.reachable ? h('p', { class: 'why' }, 'No answer on ' + svc.http_addr + ': ' + svc.error) : null,
        failing.length ? h('ul', { class: 'checks' }, failing.map((c) => h('li', {},
          h('strong', {}, c.name), ': ', c.reason || 'failing', c.error ? h('span', { class: 'muted' }, ' (' + c.error + ')') : null,
          c.since ? h('span', { class: 'muted' }, ' since ' + since(c.since)) : null))) : null,
        svc.reachable && !failing.length ? h('p', { class: 'muted' }, svc.checks.length + ' checks passing') : null,
        facts.length ? h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null);
    }));
  }

  function renderSagaChart(el, o) {
    const r = o.sagas;
    const buckets = r.buckets;
    const W = 640, H = 170, L = 36, B = 22, T = 8;
    const max = Math.max(1, ...buckets.map((b) => Math.max(b.completed + b.cancelled, b.placed)));
    const n = Math.round(r.window_seconds / r.bucket_seconds);
    const bw = (W - L) / n;
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = s('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'sagas completed and cancelled per ' + r.bucket_seconds + ' seconds' });
    for (const f of [0, 0.5, 1]) {
      const v = Math.round(max * f);
      svg.append(s('line', { class: 'grid', x1: L, x2: W, y1: y(v), y2: y(v) }), s('text', { class: 'axis', x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
    }
    const offset = n - buckets.length;
    const placed = [];
    buckets.forEach((b, i) => {
      const x = L + (offset + i) * bw;
      const hc = (H - T - B) * b.completed / max;
      const hx = (H - T - B) * b.cancelled / max;
      const title = s('title', {}, clock(b.at) + ': ' + b.placed + ' placed, ' + b.completed + ' completed, ' + b.cancelled + ' cancelled');
      svg.append(s('g', { class: 'bucket' }, title,
        s('rect', { class: 'completed', x: x + 1, width: Math.max(1, bw - 2), y: H - B - hc, height: hc }),
        s('rect', { class: 'cancelled', x: x + 1, width: Math.max(1, bw - 2), y: H - B - hc - hx, height: hx })));
      placed.push((x + bw / 2) + ',' + y(b.placed));
    });
    if (placed.length > 1) svg.append(s('polyline', { class: 'placed', points: placed.join(' ') }));
    const mins = Math.round(r.window_seconds / 60);
    svg.append(s('text', { class: 'axis', x: L, y: H - 6 }, '-' + mins + ' min'), s('text', { class: 'axis', x: W, y: H - 6, 'text-anchor': 'end' }, 'now'));
    const total = buckets.reduce((a, b) => ({ p: a.p + b.placed, c: a.c + b.completed, x: a.x + b.cancelled }), { p: 0, c: 0, x: 0 });
    replace(el,
      h('p', { class: 'big' }, h('strong', { id: 'rate' }, r.placed_per_second.toFixed(1)), ' sagas/s placed, ',
        h('strong', {}, r.ended_per_second.toFixed(1)), ' ended/s', h('span', { class: 'muted' }, ' (last ' + r.bucket_seconds + ' s)')),
      svg,
      h('p', { class: 'legend' }, h('span', { class: 'key completed' }), 'completed ', h('strong', {}, String(total.c)), '  ',
        h('span', { class: 'key cancelled' }), 'cancelled ', h('strong', {}, String(total.x)), '  ',
        h('span', { class: 'key placed' }), 'placed ', h('strong', {}, String(total.p)),
        h('span', { class: 'muted' }, ' · per ' + r.bucket_seconds + ' s, counted since ' + clock(r.since))));
  }

  function spark(values) {
    const W = 120, H = 24;
    const max = Math.max(1, ...values);
    const pts = values.map((v, i) => (values.length === 1 ? W : i * W / (values.length - 1)) + ',' + (H - 2 - (H - 4) * v / max));
    return s('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'aria-hidden': 'true' },
      s('polyline', { points: pts.join(' ') }));
  }

  function renderLag(el, o) {
    if (o.jetstream_error && o.consumers.length === 0) {
      replace(el, note(o.jetstream_error));
      return;
    }
    if (o.consumers.length === 0) {
      replace(el, h('p', { class: 'muted' }, 'No durable consumers yet.'));
      return;
    }
    const rows = [...o.consumers].sort((a, b) => (b.growing - a.growing) || (b.lag - a.lag) || a.stream.localeCompare(b.stream) || a.name.localeCompare(b.name));
    replace(el, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['stream', 'durable', 'pending', 'ack pending', 'redelivered', 'last 2 min', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows.map((c) => h('tr', { class: c.growing ? 'warn' : (c.lag > 0 ? 'busy' : '') , 'data-durable': c.stream + '/' + c.name },
        h('td', {}, c.stream), h('td', {}, c.name), h('td', { class: 'num' }, String(c.pending)), h('td', { class: 'num' }, String(c.ack_pending)),
        h('td', { class: 'num' }, String(c.redelivered)), h('td', {}, spark(c.history)),
        h('td', {}, c.growing ? badge('growing', 'bad') : (c.lag > 0 ? badge('busy', 'wait') : badge('caught up', 'ok'))))))),
      o.jetstream_error ? note(o.jetstream_error) : null);
  }

  function renderDLQSummary(el, o) {
    const d = o.dead_letters;
    if (d.error) {
      replace(el, note(d.error));
      return;
    }
    const by = Object.entries(d.by_service).sort();
    replace(el,
      h('p', { class: 'big' }, h('strong', { id: 'dlq-total', class: d.total ? 'bad' : '' }, String(d.total)), ' waiting'),
      d.recent ? h('p', { class: 'alert error' }, d.recent + ' new in the last ' + d.recent_minutes + ' minutes') : h('p', { class: 'muted' }, 'none new in the last ' + d.recent_minutes + ' minutes'),
      by.length ? h('dl', { class: 'facts' }, by.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])) : null,
      h('p', {}, h('a', { href: '/dead-letters' }, 'See the dead letters')));
  }

  function renderStreams(el, o) {
    if (o.streams.length === 0) {
      replace(el, o.jetstream_error ? note(o.jetstream_error) : h('p', { class: 'muted' }, 'No streams yet.'));
      return;
    }
    replace(el, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['stream', 'messages', 'size', 'last sequence', 'consumers'].map((c) => h('th', {}, c)))),
      h('tbody', {}, o.streams.map((st) => h('tr', {},
        h('td', {}, st.name), h('td', { class: 'num' }, String(st.messages)), h('td', { class: 'num' }, bytes(st.bytes)),
        h('td', { class: 'num' }, String(st.last_seq)), h('td', { class: 'num' }, String(st.consumers)))))));
  }

  // ---- sagas ------------------------------------------------------------------

  const STATUSES = ['pending', 'paid', 'reserved', 'completed', 'cancelled'];

  function sagasPage() {
    const params = new URLSearchParams(location.search);
    const status = h('select', { name: 'status' }, h('option', { value: '' }, 'any status'),
      STATUSES.map((st) => h('option', { value: st, selected: params.get('status') === st }, st)));
    const customer = h('input', { name: 'customer', placeholder: 'customer id', value: params.get('customer') || '', size: 14 });
    const stuck = h('input', { type: 'checkbox', name: 'stuck', value: '1', checked: params.get('stuck') === '1' });
    const q = h('input', { name: 'q', type: 'search', placeholder: 'order id', value: params.get('q') || '', size: 24 });
    const form = h('form', { class: 'filters', action: '/sagas', method: 'get' },
      h('label', {}, 'Status ', status), h('label', {}, 'Customer ', customer),
      h('label', { class: 'check' }, stuck, ' stuck only (in flight longer than ' + document.querySelector('meta[name="choreo-stuck-after"]').content + ')'),
      h('label', {}, 'Find ', q), h('button', { type: 'submit' }, 'Show'));
    const listEl = h('div', { id: 'saga-list' });
    const metaEl = h('p', { class: 'muted', id: 'saga-meta' });
    replace(main, h('h1', {}, 'Sagas'), form, metaEl, listEl);
    let shown = null; // the order ids on the page, to mark the new ones
    const load = async () => {
      const p = new URLSearchParams();
      if (status.value) p.set('status', status.value);
      if (customer.value.trim()) p.set('customer', customer.value.trim());
      if (stuck.checked) p.set('stuck', '1');
      if (q.value.trim()) p.set('q', q.value.trim());
      try {
        const data = await getJSON('/api/sagas?' + p.toString());
        renderSagaList(listEl, data, shown);
        shown = new Set(data.orders.map((o) => o.order_id));
        replace(metaEl, data.orders.length + ' order(s), newest first · updated ', clock(new Date().toISOString()), ' · the list follows the events live');
      } catch (e) {
        replace(listEl, note(e.message));
      }
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams(new FormData(form));
      for (const [k, v] of [...p.entries()]) if (!v) p.delete(k);
      history.replaceState(null, '', '/sagas' + (p.toString() ? '?' + p.toString() : ''));
      shown = null;
      load();
    });
    const reload = debounce(load, 700);
    listeners.moved.push((m) => { if (m.orders) reload(); });
    if (stuck.checked) listeners.overview.push(() => reload()); // ageing sagas become stuck without an event
    load();
  }

  function steps(st) {
    return h('span', { class: 'steps' },
      [['payment', st.payment], ['inventory', st.inventory], ['shipping', st.shipping]].map(([k, v]) =>
        h('span', { class: 'step ' + v, title: k + ': ' + v }, k[0].toUpperCase() + ' ' + v)));
  }

  function renderSagaList(el, data, shown) {
    const parts = [];
    if (data.error) parts.push(note(data.error));
    if (data.note) parts.push(note(data.note, 'warn'));
    if (data.orders.length === 0 && !data.error) {
      parts.push(h('p', { class: 'muted' }, data.query.stuck ? 'No saga has been in flight for longer than ' + dur(data.stuck_after_seconds) + '.' : 'No orders.'));
      replace(el, parts);
      return;
    }
    if (data.orders.length) {
      const stuckCols = data.query.stuck;
      parts.push(h('table', { class: 'data sagas' },
        h('thead', {}, h('tr', {}, ['order', 'customer', 'status', 'steps', 'total', 'placed', 'updated'].concat(stuckCols ? ['waiting on', 'last event'] : []).map((c) => h('th', {}, c)))),
        h('tbody', {}, data.orders.map((o) => {
          const open = o.status !== 'completed' && o.status !== 'cancelled';
          const age = (Date.now() - Date.parse(o.created_at)) / 1000;
          const cls = [shown && !shown.has(o.order_id) ? 'new' : '', open && age > data.stuck_after_seconds ? 'warn' : ''].join(' ').trim();
          return h('tr', { class: cls || null, 'data-order': o.order_id },
            h('td', {}, h('a', { href: '/sagas/' + encodeURIComponent(o.order_id) }, o.order_id)),
            h('td', {}, o.customer_id),
            h('td', {}, statusBadge(o.status), o.cancel_reason ? h('span', { class: 'muted' }, ' ' + o.cancel_reason) : null),
            h('td', {}, steps(o.steps)),
            h('td', { class: 'num' }, money(o.total_cents, o.currency)),
            h('td', { title: stamp(o.created_at) }, since(o.created_at)),
            h('td', { title: stamp(o.updated_at) }, since(o.updated_at)),
            stuckCols && o.stuck ? [h('td', {}, o.stuck.waiting_on || '—'), h('td', {}, o.stuck.last_event)] : null);
        }))));
    }
    replace(el, parts);
  }

  // ---- one saga ---------------------------------------------------------------

  function sagaPage() {
    const head = h('div', { class: 'saga-head' });
    const whereEl = h('section', { id: 'where', class: 'where' });
    const lanesEl = h('section', { class: 'card', id: 'lanes-card' }, h('h2', {}, 'Timeline'), h('div', { id: 'lanes', class: 'lanes' }));
    const partsEl = h('div', { class: 'grid parts', id: 'parts' });
    const eventsEl = h('section', { class: 'card', id: 'events' });
    replace(main, head, whereEl, lanesEl, partsEl, eventsEl);
    let over = false;
    const load = async () => {
      try {
        const v = await getJSON('/api/sagas/' + encodeURIComponent(ORDER_ID));
        renderSaga(v, head, whereEl, lanesEl.querySelector('#lanes'), partsEl, eventsEl);
        over = v.where.waiting_on === null && v.timeline && (v.timeline.status === 'completed' || v.timeline.status === 'cancelled');
      } catch (e) {
        replace(whereEl, note('The saga cannot be read: ' + e.message));
      }
    };
    const reload = debounce(load, 500);
    listeners.moved.push((m) => { if (m.more || m.ids.includes(ORDER_ID)) reload(); });
    listeners.overview.push(() => { if (!over) reload(); }); // the age, and what is down, change without an event
    load();
  }

  function renderSaga(v, head, whereEl, lanesEl, partsEl, eventsEl) {
    const status = v.timeline ? v.timeline.status : (v.order ? v.order.status : '');
    replace(head, h('h1', {}, 'Saga ', h('span', { class: 'mono' }, v.order_id), ' ', status ? statusBadge(status) : null),
      v.order ? h('p', { class: 'muted' }, 'Customer ', h('a', { href: '/sagas?customer=' + encodeURIComponent(v.order.customer_id) }, v.order.customer_id),
        ' · placed ' + stamp(v.order.created_at) + ' (' + since(v.order.created_at) + ')') : null);
    const w = v.where;
    let comp = null;
    if (w.compensations_done === true) comp = h('p', { class: 'comp done', id: 'compensations' }, '✓ Every compensation is done.');
    else if (status === 'cancelled' && w.compensations_done === false) comp = h('p', { class: 'comp open', id: 'compensations' }, 'Compensations are still outstanding.');
    replace(whereEl, h('div', { class: 'alert ' + ({ ok: 'ok', wait: 'info', warn: 'warn', error: 'error' }[w.level] || 'info') },
      h('p', { class: 'headline', id: 'where-headline' }, w.headline),
      w.details.length ? h('ul', {}, w.details.map((d) => h('li', {}, d))) : null, comp));
    if (v.timeline_error) replace(lanesEl, note(v.timeline_error));
    else drawLanes(lanesEl, v.lanes, v.events);
    replace(partsEl, orderPart(v), paymentPart(v), stockPart(v), shipmentPart(v));
    renderEventList(eventsEl, v);
  }

  function part(title, cls, ...kids) {
    return h('section', { class: 'card part ' + (cls || '') }, h('h2', {}, title), kids);
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]));
  }

  function orderPart(v) {
    if (!v.order) return part('Order', 'unavailable', note(v.order_error));
    const o = v.order;
    const a = o.shipping_address;
    return part('Order', '',
      facts([
        ['status', [statusBadge(o.status), o.cancel_reason ? ' ' + o.cancel_reason : '']],
        ['steps', steps(o.steps)],
        ['total', money(o.total_cents, o.currency)],
        ['ship to', h('span', { id: 'ship-to' }, a.name + ', ' + a.line1 + ', ' + a.postal_code + ' ' + a.city + ', ' + a.country)],
        ['version', String(o.version)],
        ['updated', stamp(o.updated_at)],
      ]),
      h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ['sku', 'quantity', 'unit price'].map((c) => h('th', {}, c)))),
        h('tbody', {}, o.items.map((it) => h('tr', {}, h('td', {}, it.sku), h('td', { class: 'num' }, String(it.quantity)),
          h('td', { class: 'num' }, money(it.unit_price_cents)))))));
  }

  function paymentPart(v) {
    const kids = [];
    if (v.payment) {
      const p = v.payment;
      kids.push(facts([['status', badge(p.status, { charged: 'ok', declined: 'bad', refunded: 'wait' }[p.status])], ['amount', money(p.amount_cents)], ['payment id', p.payment_id]]));
    } else {
      kids.push(note(v.payment_error, v.payment_error.includes('unavailable') ? 'error' : 'info'));
    }
    if (v.balance) kids.push(facts([['balance of ' + v.balance.customer_id, money(v.balance.balance_cents)]]));
    else if (v.balance_error) kids.push(note(v.balance_error, v.balance_error.includes('unavailable') ? 'error' : 'info'));
    return part('Payment', v.payment ? '' : 'unavailable', kids);
  }

  function stockPart(v) {
    if (v.stock.length === 0) return part('Stock', 'unavailable', h('p', { class: 'muted' }, 'The order cannot be read, so neither can its SKUs.'));
    return part('Stock', '', h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['sku', 'ordered', 'available', 'reserved'].map((c) => h('th', {}, c)))),
      h('tbody', {}, v.stock.map((l) => h('tr', {}, h('td', {}, l.sku), h('td', { class: 'num' }, String(l.quantity)),
        l.stock ? [h('td', { class: 'num' }, String(l.stock.available)), h('td', { class: 'num' }, String(l.stock.reserved))]
          : h('td', { colspan: 2 }, note(l.error, l.error.includes('unavailable') ? 'error' : 'info')))))));
  }

  function shipmentPart(v) {
    if (!v.shipment) return part('Shipment', 'unavailable', note(v.shipment_error, v.shipment_error.includes('unavailable') ? 'error' : 'info'));
    const sh = v.shipment;
    return part('Shipment', '', facts([
      ['status', badge(sh.status, { scheduled: 'ok', failed: 'bad', cancelled: 'wait' }[sh.status])],
      ['carrier', sh.carrier || '—'], ['tracking', sh.tracking_number || '—'], ['shipment id', sh.shipment_id || '—']]));
  }

  function renderEventList(el, v) {
    const byID = new Map(v.events.map((e) => [e.id, e]));
    replace(el, h('h2', {}, 'Events'), v.events.length === 0 ? h('p', { class: 'muted' }, 'No events.') :
      h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, ['at', 'service', 'event', 'caused by', 'hop', 'heard by order'].map((c) => h('th', {}, c)))),
        h('tbody', {}, v.events.map((e) => {
          const cause = byID.get(e.causation_id);
          const heard = Date.parse(e.recorded_at) - Date.parse(e.occurred_at);
          return h('tr', { class: 'kind-' + e.kind },
            h('td', { class: 'num', title: stamp(e.occurred_at) }, '+' + ms(e.offset_ms)),
            h('td', {}, e.service), h('td', {}, h('span', { class: 'ev-name kind-' + e.kind }, e.type)),
            h('td', {}, cause ? cause.type : h('span', { class: 'muted' }, 'a request')),
            h('td', { class: 'num' }, cause ? '+' + ms(e.offset_ms - cause.offset_ms) : '—'),
            h('td', { class: 'num' }, heard > 0 ? '+' + ms(heard) : '—'));
        }))));
  }

  // drawLanes draws the saga as swimlanes: a lane per service, each event
  // at its time (spread so no two overlap), an arrow from the event that
  // caused it.
  function drawLanes(el, lanes, events) {
    if (events.length === 0) {
      replace(el, h('p', { class: 'muted' }, 'No events yet.'));
      return;
    }
    const LABEL = 96, TOP = 34, LANE = 70, RIGHT = 70, GAP = 74;
    // Each event at its time, on an axis that keeps GAP between two events
    // so their names stay readable: a saga whose steps take milliseconds
    // and whose timeout takes seconds still shows every step.
    const avail = Math.max(GAP * (events.length - 1), (el.clientWidth || 900) - LABEL - RIGHT - 20);
    const span = Math.max(events[events.length - 1].offset_ms, 0.001);
    const spread = avail - GAP * (events.length - 1);
    const xs = events.map((e, i) => LABEL + 20 + GAP * i + spread * e.offset_ms / span);
    const W = xs[xs.length - 1] + RIGHT;
    const H = TOP + LANE * lanes.length + 8;
    const laneY = (svc) => TOP + LANE * lanes.indexOf(svc) + LANE / 2;
    const svg = s('svg', { class: 'swimlanes', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'the saga as swimlanes, one lane per service' });
    svg.append(s('defs', {}, ['arrow', 'arrow-compensation', 'arrow-failure'].map((id) =>
      s('marker', { id: id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: id })))));
    const gLanes = s('g', { class: 'lanes-bg' });
    const gTicks = s('g', { class: 'ticks' });
    const gArrows = s('g', { class: 'arrows' });
    const gEvents = s('g', { class: 'events' });
    svg.append(gLanes, gTicks, gArrows, gEvents); // back to front
    lanes.forEach((svc, i) => {
      gLanes.append(s('g', { class: 'lane', 'data-lane': svc },
        s('rect', { class: 'lane-bg ' + (i % 2 ? 'odd' : 'even'), x: 0, y: TOP + LANE * i, width: W, height: LANE }),
        s('text', { class: 'lane-name', x: 10, y: TOP + LANE * i + LANE / 2 + 4 }, svc)));
    });
    const byID = new Map();
    events.forEach((e, i) => byID.set(e.id, i));
    events.forEach((e, i) => {
      const from = byID.get(e.causation_id);
      if (from === undefined || !lanes.includes(events[from].service) || !lanes.includes(e.service)) return;
      const x1 = xs[from], y1 = laneY(events[from].service), x2 = xs[i], y2 = laneY(e.service);
      const r = 7;
      const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
      const sx = x1 + dx / len * r, sy = y1 + dy / len * r, ex = x2 - dx / len * (r + 1), ey = y2 - dy / len * (r + 1);
      // A gentle curve, so an arrow never runs through an event between its ends.
      const bend = 16, mx = (sx + ex) / 2 - dy / len * bend, my = (sy + ey) / 2 + dx / len * bend;
      const kind = e.kind === 'compensation' || e.kind === 'cancel' ? 'compensation' : (e.kind === 'failure' ? 'failure' : '');
      gArrows.append(s('path', { class: 'arrow ' + kind, d: 'M' + sx + ',' + sy + ' Q' + mx + ',' + my + ' ' + ex + ',' + ey,
        'marker-end': 'url(#arrow' + (kind ? '-' + kind : '') + ')', 'data-from': events[from].type, 'data-to': e.type }));
    });
    events.forEach((e, i) => {
      if (!lanes.includes(e.service)) return;
      const x = xs[i], y = laneY(e.service);
      const above = i % 2 === 0;
      gEvents.append(s('g', { class: 'ev kind-' + e.kind, 'data-type': e.type, 'data-service': e.service, 'data-kind': e.kind },
        s('title', {}, e.type + ' from ' + e.service + '\noccurred ' + clock(e.occurred_at) + ' (+' + ms(e.offset_ms) + ')\nrecorded by order ' + clock(e.recorded_at) + '\nid ' + e.id + '\nsubject ' + e.subject),
        s('circle', { cx: x, cy: y, r: 7 }),
        s('text', { class: 'ev-label', x: x, y: above ? y - 13 : y + 22, 'text-anchor': 'middle' }, e.type)));
      gTicks.append(s('text', { class: 'tick', x: x, y: TOP - 10, 'text-anchor': 'middle' }, '+' + ms(e.offset_ms)),
        s('line', { class: 'tick-line', x1: x, x2: x, y1: TOP - 6, y2: H - 8 }));
    });
    replace(el, h('div', { class: 'lanes-scroll' }, svg),
      h('p', { class: 'legend' }, [['effect', 'effect'], ['failure', 'failure'], ['cancel', 'cancellation'], ['compensation', 'compensation'], ['complete', 'completion'], ['step', 'other step']].map(([k, t]) =>
        [h('span', { class: 'key ev-key kind-' + k }), t + '  ']), h('br'), h('span', { class: 'muted' }, 'An arrow goes from each event to the one it caused; hover an event for its details.')));
  }

  // ---- dead letters -------------------------------------------------------------

  function deadLettersPage() {
    const params = new URLSearchParams(location.search);
    const service = h('select', { name: 'service' }, h('option', { value: '' }, 'every service'));
    const summary = h('p', { id: 'dlq-count' });
    const listEl = h('div', { id: 'letters' });
    const detailEl = h('section', { id: 'letter', class: 'card', hidden: true });
    const toast = h('p', { id: 'toast', class: 'alert ok', hidden: true, role: 'status' });
    const dialog = h('dialog', { id: 'confirm' });
    replace(main, h('h1', {}, 'Dead letters'),
      h('p', { class: 'muted' }, 'Messages a service gave up on: after 5 failed deliveries, or at once if it cannot decode them. Redrive one once its cause is fixed: it is republished on its original subject, and every consumer of that stream receives it again — those that handled it drop it as a duplicate, the one that gave up handles it, once.'),
      h('form', { class: 'filters' }, h('label', {}, 'Service ', service)), summary, toast, listEl, detailEl, dialog);
    let selected = params.get('service') || '';
    let lastTotal = null;
    service.addEventListener('change', () => {
      selected = service.value;
      history.replaceState(null, '', '/dead-letters' + (selected ? '?service=' + encodeURIComponent(selected) : ''));
      load();
    });
    const load = async () => {
      try {
        const data = await getJSON('/api/dead-letters' + (selected ? '?service=' + encodeURIComponent(selected) : ''));
        const names = Object.keys(data.by_service).sort();
        if (selected && !names.includes(selected)) names.push(selected);
        replace(service, h('option', { value: '' }, 'every service'), names.map((n) => h('option', { value: n, selected: n === selected }, n + ' (' + (data.by_service[n] || 0) + ')')));
        replace(summary, h('strong', {}, String(data.total)), ' dead letter(s)' + (selected ? ' of ' + selected : '') +
          (data.letters.length < data.total ? ', the newest ' + data.letters.length + ' shown' : '') + ', newest first.');
        renderLetters(listEl, data, (seq) => show(seq));
        lastTotal = lastOverview ? lastOverview.dead_letters.total : null;
      } catch (e) {
        replace(listEl, note(e.message));
      }
    };
    const show = async (seq) => {
      detailEl.hidden = false;
      replace(detailEl, h('p', { class: 'loading' }, 'Loading dead letter ' + seq + '…'));
      try {
        const l = await getJSON('/api/dead-letters/' + seq);
        renderLetter(detailEl, l, confirmAction);
        detailEl.scrollIntoView({ block: 'nearest' });
      } catch (e) {
        replace(detailEl, note(e.message));
      }
    };
    const confirmAction = (l, what) => {
      const redrive = what === 'redrive';
      replace(dialog,
        h('h2', {}, (redrive ? 'Redrive' : 'Purge') + ' dead letter ' + l.seq + '?'),
        redrive
          ? h('p', {}, 'It is republished on ', h('code', {}, l.original_subject), ' in ', h('code', {}, l.stream), ' as ', h('code', {}, l.redrive_msg_id),
            ', then deleted from the DLQ. Every consumer of ', h('code', {}, l.stream), ' receives it again: those that handled it drop it as a duplicate; ',
            h('strong', {}, l.service), ' handles it now. If its cause is not fixed, it comes back as a new dead letter.')
          : h('p', {}, 'It is deleted for good: ', h('strong', {}, l.service), ' will never handle ', h('code', {}, l.original_subject), '. This cannot be undone.'),
        h('div', { class: 'buttons' },
          h('button', { type: 'button', id: 'confirm-cancel', on: { click: () => dialog.close() } }, 'Cancel'),
          h('button', { type: 'button', id: 'confirm-ok', class: redrive ? 'primary' : 'danger', on: { click: async (e) => {
            e.target.disabled = true;
            try {
              const res = await post('/api/dead-letters/' + l.seq + '/' + what);
              dialog.close();
              toast.className = 'alert ok';
              toast.textContent = res.message;
              toast.hidden = false;
              detailEl.hidden = true;
              load();
            } catch (err) {
              dialog.close();
              toast.className = 'alert error';
              toast.textContent = (redrive ? 'Redrive' : 'Purge') + ' failed: ' + err.message;
              toast.hidden = false;
            }
          } } }, redrive ? 'Redrive' : 'Purge')));
      dialog.showModal();
    };
    const reload = debounce(load, 1000);
    listeners.overview.push((o) => {
      if (lastTotal !== null && o.dead_letters.total !== lastTotal) reload();
      lastTotal = o.dead_letters.total;
    });
    load();
  }

  function renderLetters(el, data, show) {
    const parts = [];
    if (data.error) parts.push(note(data.error));
    if (data.letters.length === 0 && !data.error) {
      parts.push(h('p', { class: 'alert ok' }, 'No dead letters.'));
    } else if (data.letters.length) {
      parts.push(h('table', { class: 'data letters' },
        h('thead', {}, h('tr', {}, ['seq', 'written', 'service', 'original subject', 'stream / seq', 'deliveries', 'error', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, data.letters.map((l) => h('tr', { 'data-seq': l.seq },
          h('td', { class: 'num' }, String(l.seq)), h('td', { title: stamp(l.time) }, since(l.time)), h('td', {}, l.service),
          h('td', { class: 'mono' }, l.original_subject),
          h('td', {}, l.stream + ' / ' + l.stream_seq), h('td', { class: 'num' }, String(l.deliveries)),
          h('td', { class: 'err' }, l.error),
          h('td', {}, h('button', { type: 'button', class: 'show', on: { click: () => show(l.seq) } }, 'Open')))))));
    }
    replace(el, parts);
  }

  function renderLetter(el, l, confirmAction) {
    replace(el,
      h('h2', {}, 'Dead letter ' + l.seq),
      facts([['service', l.service], ['original', l.original_subject + ' (' + l.stream + ' / ' + l.stream_seq + ')'], ['written', stamp(l.time)],
        ['deliveries', String(l.deliveries)], ['error', h('span', { class: 'err' }, l.error)],
        l.order_id ? ['saga', h('a', { href: '/sagas/' + encodeURIComponent(l.order_id) }, l.order_id)] : null]),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'primary', id: 'redrive', on: { click: () => confirmAction(l, 'redrive') } }, 'Redrive…'),
        h('button', { type: 'button', class: 'danger', id: 'purge', on: { click: () => confirmAction(l, 'purge') } }, 'Purge…')),
      h('h3', {}, 'Headers'),
      h('table', { class: 'data headers' }, h('tbody', {}, l.headers.map((hd) => h('tr', {}, h('th', {}, hd.name), h('td', { class: 'mono' }, hd.value))))),
      h('h3', {}, 'Body ', h('span', { class: 'muted' }, bytes(l.body_bytes) + (l.body_cut ? ', the first ' + bytes(l.body.length) + ' shown' : ''))),
      h('pre', { class: 'body', id: 'letter-body' }, l.body));
  }

  // ---- start ------------------------------------------------------------------------

  const pages = { overview: overviewPage, sagas: sagasPage, saga: sagaPage, 'dead-letters': deadLettersPage };
  if (pages[PAGE]) pages[PAGE]();
  live();
})();
