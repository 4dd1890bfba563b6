package notify

import (
	"strconv"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
)

// minorDigits are the ISO 4217 minor-unit exponents that are not 2.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

var symbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

// formatMoney renders minor units for people: "$1,234.50", "€9.99",
// "¥500", "12.345 KWD".
func formatMoney(m contracts.Money) string {
	cur := strings.ToUpper(m.Currency)
	digits, ok := minorDigits[cur]
	if !ok {
		digits = 2
	}
	amt := m.Amount
	neg := amt < 0
	if neg {
		amt = -amt
	}
	var pow int64 = 1
	for range digits {
		pow *= 10
	}
	whole := strconv.FormatInt(amt/pow, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	num := b.String()
	if digits > 0 {
		frac := strconv.FormatInt(amt%pow, 10)
		num += "." + strings.Repeat("0", digits-len(frac)) + frac
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if s, ok := symbols[cur]; ok {
		return sign + s + num
	}
	if cur == "" {
		return sign + num
	}
	return sign + num + " " + cur
}
