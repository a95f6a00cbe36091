package io.turnout.domain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A record's JSON written straight to UTF-8 bytes (the read path's response body) is, value for
 * value, the text of the tree the rest of the data API builds: the same escapes, numbers, instants
 * and nested JSON.
 */
class FieldJsonTest {

    private static String streamed(FieldType type, Object value) throws Exception {
        ByteBuf out = Unpooled.buffer();
        try (JsonGenerator g = Domain.generator(out)) {
            g.writeStartObject();
            g.writeFieldName("v");
            type.write(g, value);
            g.writeEndObject();
        }
        return out.toString(StandardCharsets.UTF_8);
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

    @Test
    void aRecordsBytesAreItsTreesTextInUtf8() throws Exception {
        List<Field> fields = List.of(new Field("id", FieldType.INTEGER, true, null), new Field("n\u00e4me \"x\"", FieldType.STRING, false, null),
                new Field("at", FieldType.TIMESTAMP, false, null), new Field("doc", FieldType.JSON, false, null),
                new Field("gone", FieldType.BOOLEAN, false, null));
        Domain d = new Domain("things", "turnout.things.stage", fields.get(0), fields, null, null, 0, null, List.of(), null);
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("id", 42L);
        values.put("n\u00e4me \"x\"", "caf\u00e9 \ud83d\ude00 \"quoted\"\n");
        values.put("at", OffsetDateTime.of(2026, 11, 25, 7, 0, 0, 1_000, ZoneOffset.UTC));
        values.put("doc", new ObjectMapper().readTree("{\"k\":[1,\"\u4e2d \ud83d\ude00\"]}"));
        values.put("gone", null);
        Record r = new Record(values);
        assertThat(d.json(r).toString(StandardCharsets.UTF_8)).isEqualTo(d.toJson(r).toString());
        assertThat(d.json(r).getBytes()).isEqualTo(d.toJson(r).toString().getBytes(StandardCharsets.UTF_8));
    }
}
