// Added to github.com/cockroachdb/errors v1.2.4 for the CockroachDB v20.1 build: v20.1 calls
// HasType, which its own branch of the errors library had and v1.2.4 lacks.

package errors

import "reflect"

// HasType says whether err or any error in its causal chain has the concrete type of
// referenceType.
func HasType(err, referenceType error) bool {
	want := reflect.TypeOf(referenceType)
	_, found := If(err, func(e error) (interface{}, bool) {
		return nil, reflect.TypeOf(e) == want
	})
	return found
}
