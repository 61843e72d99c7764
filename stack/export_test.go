package stack

// ProcState is procState, for the black-box tests.
var ProcState = procState
