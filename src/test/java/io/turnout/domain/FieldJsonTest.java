package io.turnout.domain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A record's JSON written straight to a generator (the read path) is, value for value, the text of
 * the tree the rest of the data API builds: the same escapes, numbers, instants and nested JSON.
 */
class FieldJsonTest {
    private static final JsonFactory JSON = new JsonFactory();

    private static String streamed(FieldType type, Object value) throws Exception {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeFieldName("v");
            type.write(g, value);
            g.writeEndObject();
        }
        return out.toString();
    }

    private static String tree(FieldType type, Object value) {
        return new ObjectMapper().createObjectNode().set("v", type.toJson(value)).toString();
    }

    @Test
    void everyTypeStreamsAsItsTreePrints() throws Exception {
        List<Object[]> cases = new ArrayList<>();
        for (FieldType t : FieldType.values()) cases.add(new Object[] {t, null});
        cases.add(new Object[] {FieldType.STRING, "plain"});
        cases.add(new Object[] {FieldType.STRING, "quote \" backslash \\ newline \n tab \t control \u0001 unicode \u00e9\u4e2d emoji \ud83d\ude00 </script>"});
        cases.add(new Object[] {FieldType.STRING, ""});
        cases.add(new Object[] {FieldType.INTEGER, 0L});
        cases.add(new Object[] {FieldType.INTEGER, Long.MIN_VALUE});
        cases.add(new Object[] {FieldType.INTEGER, Long.MAX_VALUE});
        cases.add(new Object[] {FieldType.BOOLEAN, true});
        cases.add(new Object[] {FieldType.BOOLEAN, false});
        cases.add(new Object[] {FieldType.TIMESTAMP, OffsetDateTime.of(2026, 11, 23, 22, 1, 2, 345_678_000, ZoneOffset.ofHours(2))});
        cases.add(new Object[] {FieldType.TIMESTAMP, OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)});
        cases.add(new Object[] {FieldType.UUID, UUID.fromString("0b7f6a1c-3d2e-4f5a-8b9c-0d1e2f3a4b5c")});
        cases.add(new Object[] {FieldType.JSON, new ObjectMapper().readTree("{\"a\":[1,2.5,\"x\\\"y\"],\"b\":{\"c\":null,\"d\":true}}")});
        for (Object[] c : cases) {
            FieldType t = (FieldType) c[0];
            assertThat(streamed(t, c[1])).as(t + " " + c[1]).isEqualTo(tree(t, c[1]));
        }
    }
}
