package io.turnout.domain;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import io.turnout.TurnoutConfig;
import io.turnout.db.Databases;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A SQL mapping is written and read back at start, in a transaction that is rolled back: one that
 * loses or changes a field is refused with a message naming the field, and leaves no row behind.
 */
@QuarkusTest
class SqlMappingCheckTest {

    @Inject
    Databases databases;

    @BeforeEach
    void tables() {
        Sql sql = new Sql(databases);
        sql.exec("main", "CREATE TABLE IF NOT EXISTS rt_people (id bigint PRIMARY KEY, name text NOT NULL, nick text)");
        sql.exec("main", "CREATE TABLE IF NOT EXISTS rt_tags (person_id bigint NOT NULL REFERENCES rt_people ON DELETE CASCADE, tag text NOT NULL, "
                + "PRIMARY KEY (person_id, tag))");
    }

    private static Map<String, String> mapping(String select) {
        Map<String, String> p = new HashMap<>();
        p.put("turnout.databases.main.url", "postgresql://localhost/x");
        p.put("turnout.domains.people.key", "id");
        p.put("turnout.domains.people.fields.id.type", "integer");
        p.put("turnout.domains.people.fields.name.type", "string");
        p.put("turnout.domains.people.fields.nick.type", "string");
        p.put("turnout.domains.people.fields.tags.type", "json");
        p.put("turnout.domains.people.example.tags", "[\"a\", \"b\"]");
        p.put("turnout.domains.people.example.name", "Ada");
        for (String side : List.of("legacy", "new")) {
            String s = "turnout.domains.people." + side + ".sql.";
            p.put("turnout.domains.people." + side + ".database", "main");
            p.put(s + "tables[0]", "rt_people");
            p.put(s + "tables[1]", "rt_tags");
            p.put(s + "select", select);
            p.put(s + "upsert[0]", "INSERT INTO rt_people (id, name, nick) SELECT id, name, nick FROM batch "
                    + "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, nick = EXCLUDED.nick");
            p.put(s + "upsert[1]", "DELETE FROM rt_tags t USING batch b WHERE t.person_id = b.id");
            p.put(s + "upsert[2]", "INSERT INTO rt_tags (person_id, tag) SELECT b.id, x FROM batch b, jsonb_array_elements_text(b.tags) AS x");
            p.put(s + "delete[0]", "DELETE FROM rt_people WHERE id IN (SELECT id FROM batch)");
        }
        return p;
    }

    private List<String> problems(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(TurnoutConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new MapBackedConfigSource("test", properties) {}).build();
        List<String> problems = new ArrayList<>();
        Map<String, Domain> built = Domains.build(config.getConfigMapping(TurnoutConfig.class), databases::find, n -> Optional.empty(), problems);
        assertThat(problems).isEmpty();
        Domains.probe(built.get("people"), problems);
        return problems;
    }

    private static final String TAGS = "coalesce((SELECT jsonb_agg(t.tag ORDER BY t.tag) FROM rt_tags t WHERE t.person_id = p.id), '[]'::jsonb)";

    @Test
    void aMappingThatRoundTripsPassesAndLeavesNothingBehind() {
        assertThat(problems(mapping("SELECT p.id, p.name, p.nick, " + TAGS + " AS tags FROM rt_people p"))).isEmpty();
        Sql sql = new Sql(databases);
        assertThat(sql.count("main", "SELECT count(*) FROM rt_people")).isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM rt_tags")).isZero();
    }

    @Test
    void aMappingThatLosesAFieldIsRefusedNamingIt() {
        assertThat(problems(mapping("SELECT p.id, p.name, p.name AS nick, " + TAGS + " AS tags FROM rt_people p")))
                .anySatisfy(p -> assertThat(p).contains("domain 'people'").contains("field 'nick' does not round-trip"))
                .noneSatisfy(p -> assertThat(p).contains("field 'name'"));
        assertThat(problems(mapping("SELECT p.id, p.name, p.nick, '[]'::jsonb AS tags FROM rt_people p")))
                .anySatisfy(p -> assertThat(p).contains("field 'tags' does not round-trip: wrote [\"a\",\"b\"], read back []"));
    }

    @Test
    void aMappingWhoseSqlFailsIsRefusedNamingTheDatabaseError() {
        assertThat(problems(mapping("SELECT p.id, p.name, p.nickname AS nick, " + TAGS + " AS tags FROM rt_people p")))
                .anySatisfy(p -> assertThat(p).contains("domain 'people'").contains("nickname"));
    }
}
