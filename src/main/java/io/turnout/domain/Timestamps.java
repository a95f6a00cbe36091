package io.turnout.domain;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Timestamps as the API shows them: {@link DateTimeFormatter#ISO_INSTANT}'s text
 * ({@code 2024-01-01T00:17:00Z}, a fraction only when there is one, in groups of three digits),
 * written without the formatter's general machinery, which a list page otherwise pays on every
 * row. Years outside 0000-9999 and values not in UTC take the formatter.
 */
final class Timestamps {
    /** The longest text the fast path writes: {@code 9999-12-31T23:59:59.999999999Z}. */
    private static final int MAX_LENGTH = 30;

    private Timestamps() {
    }

    /** ISO_INSTANT's text of {@code t}. */
    static String iso(OffsetDateTime t) {
        char[] out = new char[MAX_LENGTH];
        int n = iso(t, out);
        return n < 0 ? DateTimeFormatter.ISO_INSTANT.format(t.toInstant()) : new String(out, 0, n);
    }

    /** Writes ISO_INSTANT's text of {@code t} into {@code out} and returns its length, or -1 where the formatter must. */
    private static int iso(OffsetDateTime t, char[] out) {
        int year = t.getYear();
        if (t.getOffset() != ZoneOffset.UTC || year < 0 || year > 9999) return -1;
        digits(out, 0, year, 4);
        out[4] = '-';
        digits(out, 5, t.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, t.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, t.getHour(), 2);
        out[13] = ':';
        digits(out, 14, t.getMinute(), 2);
        out[16] = ':';
        digits(out, 17, t.getSecond(), 2);
        int n = 19;
        int nano = t.getNano();
        if (nano != 0) {
            out[n++] = '.';
            if (nano % 1_000_000 == 0) {
                digits(out, n, nano / 1_000_000, 3);
                n += 3;
            } else if (nano % 1_000 == 0) {
                digits(out, n, nano / 1_000, 6);
                n += 6;
            } else {
                digits(out, n, nano, 9);
                n += 9;
            }
        }
        out[n++] = 'Z';
        return n;
    }

    private static void digits(char[] out, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            out[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
