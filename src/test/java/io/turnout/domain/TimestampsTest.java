package io.turnout.domain;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The API's timestamps read exactly as DateTimeFormatter.ISO_INSTANT writes them, for every value. */
class TimestampsTest {
    @Test
    void theTextIsIsoInstantsForEveryPrecisionAndYear() {
        SplittableRandom random = new SplittableRandom(16);
        long min = Instant.parse("-0500-01-01T00:00:00Z").getEpochSecond();
        long max = Instant.parse("+12000-12-31T23:59:59Z").getEpochSecond();
        int[] nanoUnits = {0, 1_000_000, 1_000, 1, 100_000_000};
        for (int i = 0; i < 200_000; i++) {
            int unit = nanoUnits[i % nanoUnits.length];
            int nano = unit == 0 ? 0 : random.nextInt(1_000_000_000 / unit) * unit;
            Instant at = Instant.ofEpochSecond(random.nextLong(min, max), nano);
            OffsetDateTime utc = at.atOffset(ZoneOffset.UTC);
            assertThat(Timestamps.iso(utc)).as("%s", at).isEqualTo(DateTimeFormatter.ISO_INSTANT.format(at));
            // another offset: the same instant, in UTC
            OffsetDateTime elsewhere = at.atOffset(ZoneOffset.ofHours(5));
            assertThat(Timestamps.iso(elsewhere)).isEqualTo(DateTimeFormatter.ISO_INSTANT.format(at));
        }
        for (String edge : new String[] {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00.010Z",
                "2024-01-01T00:17:00Z", "2024-01-01T00:00:00.000001Z", "+10000-01-01T00:00:00Z"}) {
            Instant at = Instant.parse(edge);
            assertThat(Timestamps.iso(at.atOffset(ZoneOffset.UTC))).isEqualTo(DateTimeFormatter.ISO_INSTANT.format(at));
        }
    }
}
