package nemesis

// The decode functions of event parameters, for the tests of package
// nemesis_test.
var (
	DecodeClockParams = decodeClockParams
	DecodeKillParams  = decodeKillParams
	DecodeLinkParams  = decodeLinkParams
)
