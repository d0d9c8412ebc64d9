package slo

import (
	"sort"
	"strconv"
	"strings"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"
)

// holidayCalendars maps a Holidays.Country code (ISO 3166 country, or
// country-region) to the public holidays github.com/rickar/cal/v2 knows for
// it.
var holidayCalendars = map[string][]*cal.Holiday{
	"at":     at.Holidays,
	"ca":     ca.Holidays,
	"dk":     dk.Holidays,
	"es":     es.Holidays,
	"fr":     fr.Holidays,
	"gb":     gb.Holidays,
	"ie":     ie.Holidays,
	"it":     it.Holidays,
	"jp":     jp.Holidays,
	"nl":     nl.Holidays,
	"no":     no.Holidays,
	"nz":     nz.Holidays,
	"pl":     pl.Holidays,
	"se":     se.Holidays,
	"us":     us.Holidays,
	"ch":     ch.Holidays,
	"de":     de.Holidays,
	"de-bw":  de.HolidaysBW,
	"de-by":  de.HolidaysBY,
	"de-be":  de.HolidaysBE,
	"de-bb":  de.HolidaysBB,
	"de-hb":  de.HolidaysHB,
	"de-hh":  de.HolidaysHH,
	"de-he":  de.HolidaysHE,
	"de-mv":  de.HolidaysMV,
	"de-ni":  de.HolidaysNI,
	"de-nw":  de.HolidaysNW,
	"de-rp":  de.HolidaysRP,
	"de-sl":  de.HolidaysSL,
	"de-sn":  de.HolidaysSN,
	"de-st":  de.HolidaysST,
	"de-sh":  de.HolidaysSH,
	"de-th":  de.HolidaysTH,
	"ch-zh":  ch.HolidaysZH,
	"ch-be":  ch.HolidaysBE,
	"ch-lu":  ch.HolidaysLU,
	"ch-ur":  ch.HolidaysUR,
	"ch-sz":  ch.HolidaysSZ,
	"ch-ow":  ch.HolidaysOW,
	"ch-nw":  ch.HolidaysNW,
	"ch-gl":  ch.HolidaysGL,
	"ch-zg":  ch.HolidaysZG,
	"ch-fr":  ch.HolidaysFR,
	"ch-so":  ch.HolidaysSO,
	"ch-bs":  ch.HolidaysBS,
	"ch-bl":  ch.HolidaysBL,
	"ch-sh":  ch.HolidaysSH,
	"ch-ar":  ch.HolidaysAR,
	"ch-ai":  ch.HolidaysAI,
	"ch-sg":  ch.HolidaysSG,
	"ch-gr":  ch.HolidaysGR,
	"ch-ag":  ch.HolidaysAG,
	"ch-tg":  ch.HolidaysTG,
	"ch-vd":  ch.HolidaysVD,
	"ch-ti":  ch.HolidaysTI,
	"ch-vs":  ch.HolidaysVS,
	"ch-ne":  ch.HolidaysNE,
	"ch-ge":  ch.HolidaysGE,
	"ch-ju":  ch.HolidaysJU,
	"au-act": au.HolidaysACT,
	"au-nsw": au.HolidaysNSW,
	"au-nt":  au.HolidaysNT,
	"au-qld": au.HolidaysQLD,
	"au-sa":  au.HolidaysSA,
	"au-tas": au.HolidaysTAS,
	"au-vic": au.HolidaysVIC,
	"au-wa":  au.HolidaysWA,
	// The library has no national list for Australia; the holidays every
	// state keeps are the national ones.
	"au": commonHolidays(au.HolidaysACT, au.HolidaysNSW, au.HolidaysNT, au.HolidaysQLD, au.HolidaysSA, au.HolidaysTAS, au.HolidaysVIC, au.HolidaysWA),
}

// commonHolidays returns the holidays present in every list.
func commonHolidays(lists ...[]*cal.Holiday) []*cal.Holiday {
	var out []*cal.Holiday
	for _, h := range lists[0] {
		inAll := true
		for _, l := range lists[1:] {
			found := false
			for _, o := range l {
				if o == h {
					found = true
					break
				}
			}
			if !found {
				inAll = false
				break
			}
		}
		if inAll {
			out = append(out, h)
		}
	}
	return out
}

// countryHolidays returns the holiday list for a code such as "de" or
// "de-by", or a message saying which codes exist.
func countryHolidays(code string) ([]*cal.Holiday, string) {
	code = strings.ToLower(strings.TrimSpace(code))
	if hs, ok := holidayCalendars[code]; ok {
		return hs, ""
	}
	country, _, hasRegion := strings.Cut(code, "-")
	var known []string
	for k := range holidayCalendars {
		if hasRegion {
			if strings.HasPrefix(k, country+"-") {
				known = append(known, k)
			}
		} else if !strings.Contains(k, "-") {
			known = append(known, k)
		}
	}
	sort.Strings(known)
	if hasRegion {
		if len(known) > 0 {
			return nil, "unknown region " + strconv.Quote(code) + "; known regions: " + strings.Join(known, ", ")
		}
		if _, ok := holidayCalendars[country]; ok {
			return nil, "no regional holidays for " + strconv.Quote(country) + "; use " + strconv.Quote(country)
		}
		_, msg := countryHolidays(country)
		return nil, msg
	}
	return nil, "unknown holiday country " + strconv.Quote(code) + "; known: " + strings.Join(known, ", ") + " (or a region such as de-by)"
}
