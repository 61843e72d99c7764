package endpoint

// CountryCount is the size of the country code set, for tests.
var CountryCount = len(countries)
