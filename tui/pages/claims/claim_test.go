package claims

import "testing"

func TestAuditBodyInWords(t *testing.T) {
	for body, want := range map[string]string{
		`{"match":"m1","price_sats":2500,"score":0.9512,"upload_covered":0.944}`: "price 2,500 sats · score 0.95 · covers 94.4% of the upload",
		`{"match":"m1","price_sats":0,"score":0.5,"upload_covered":1}`:           "price kept · score 0.50 · covers 100.0% of the upload",
		`{"decision":"reverse","escrow_released_sats":300,"to":"SHA256:me"}`:     "reverse · escrow 300 sats to SHA256:me (you)",
		`{"new_field":1}`:   "new_field 1",
		"my own recording":  "“my own recording”",
		"":                  "—",
		`["not", "object"]`: `“["not", "object"]”`,
	} {
		if got := auditBody(body, "SHA256:me"); got != want {
			t.Errorf("auditBody(%s) = %q, want %q", body, got, want)
		}
	}
}
