package io.turnout.domain;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import io.turnout.TurnoutConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.turnout.db.Database;
import io.turnout.search.SearchOrigins;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A bad domain definition is reported with its domain and what is wrong, before anything is served. */
class DomainValidationTest {

    private static Map<String, String> valid() {
        Map<String, String> p = new HashMap<>();
        p.put("turnout.databases.main.url", "postgresql://localhost/x");
        p.put("turnout.domains.things.key", "id");
        p.put("turnout.domains.things.fields.id.type", "integer");
        p.put("turnout.domains.things.fields.name.type", "string");
        p.put("turnout.domains.things.fields.name.max-length", "10");
        p.put("turnout.domains.things.legacy.database", "main");
        p.put("turnout.domains.things.legacy.table", "old_things");
        p.put("turnout.domains.things.new.database", "main");
        p.put("turnout.domains.things.new.table", "public.things");
        p.put("turnout.domains.things.new.columns.name", "title");
        return p;
    }

    private static List<String> problems(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(TurnoutConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new MapBackedConfigSource("test", properties) {})
                .build();
        List<String> problems = new ArrayList<>();
        TurnoutConfig turnout = config.getConfigMapping(TurnoutConfig.class);
        problems.addAll(SearchOrigins.problems(turnout));
        Map<String, Domain> built = Domains.build(turnout,
                name -> name.equals("main") ? Optional.of(new Database("main", null, null)) : Optional.empty(), name -> Optional.empty(), problems);
        if (problems.isEmpty()) assertThat(built).containsKey("things");
        return problems;
    }

    @Test
    void validDefinitionHasNoProblems() {
        assertThat(problems(valid())).isEmpty();
    }

    @Test
    void eachProblemNamesTheDomainAndWhatIsWrong() {
        Map<String, String> p = valid();
        p.put("turnout.domains.things.key", "uuid");
        assertThat(problems(p)).containsExactly("domain 'things': key 'uuid' is not a declared field");

        // the key's lock is named in Java and in SQL, which write a timestamp differently
        p = valid();
        p.put("turnout.domains.things.fields.id.type", "timestamp");
        assertThat(problems(p)).containsExactly("domain 'things': key 'id' is of type timestamp; a key must be an integer, a uuid or a string");

        p = valid();
        p.put("turnout.domains.things.fields.name.type", "text");
        assertThat(problems(p)).singleElement().asString().contains("domain 'things'").contains("unknown type 'text'");

        p = valid();
        p.put("turnout.domains.things.new.table", "things; DROP TABLE x");
        assertThat(problems(p)).singleElement().asString().contains("new store").contains("not a plain identifier");

        p = valid();
        p.put("turnout.domains.things.legacy.columns.name", "Title\"");
        assertThat(problems(p)).singleElement().asString().contains("legacy store").contains("column 'Title\"'");

        p = valid();
        p.put("turnout.domains.things.legacy.expressions.name", "'x'; DELETE FROM y");
        assertThat(problems(p)).singleElement().asString().contains("expression of field 'name'");

        p = valid();
        p.put("turnout.domains.things.legacy.columns.colour", "colour");
        assertThat(problems(p)).singleElement().asString().contains("unknown field 'colour'");

        p = valid();
        p.put("turnout.domains.things.new.database", "elsewhere");
        assertThat(problems(p)).singleElement().asString().contains("database 'elsewhere' is not declared");

        p = valid();
        p.put("turnout.domains.things.legacy.expressions.id", "1");
        assertThat(problems(p)).anySatisfy(s -> assertThat(s).contains("key field 'id' must be a column"));
    }

    @Test
    void searchStoresAreReadOnlyAndNameADeclaredOrigin() {
        Map<String, String> p = valid();
        p.remove("turnout.domains.things.new.database");
        p.remove("turnout.domains.things.new.table");
        p.remove("turnout.domains.things.new.columns.name");
        p.put("turnout.domains.things.new.search.origin", "nowhere");
        p.put("turnout.domains.things.new.search.index", "things");
        assertThat(problems(p)).containsExactly(
                "domain 'things': new store: search origin 'nowhere' is not declared under turnout.search");

        p.put("turnout.domains.things.new.table", "things");
        assertThat(problems(p)).singleElement().asString().contains("a search store takes search.origin");

        Map<String, String> legacySearch = valid();
        legacySearch.remove("turnout.domains.things.legacy.database");
        legacySearch.remove("turnout.domains.things.legacy.table");
        legacySearch.put("turnout.domains.things.legacy.search.origin", "nowhere");
        legacySearch.put("turnout.domains.things.legacy.search.index", "Things!");
        assertThat(problems(legacySearch)).anySatisfy(s -> assertThat(s).contains("can only be the new store"))
                .anySatisfy(s -> assertThat(s).contains("index 'Things!'"));

        Map<String, String> neither = valid();
        neither.remove("turnout.domains.things.new.table");
        assertThat(problems(neither)).singleElement().asString().contains("needs database and table");
    }

    @Test
    void searchOriginSettingsAreChecked() {
        Map<String, String> p = valid();
        p.put("turnout.search.connectra.url", "ftp://x");
        p.put("turnout.search.connectra.timeout", "0s");
        p.put("turnout.search.connectra.breaker.failure-ratio", "1.5");
        assertThat(problems(p)).anySatisfy(s -> assertThat(s).isEqualTo("search origin 'connectra': url must be an http or https URL with a host"))
                .anySatisfy(s -> assertThat(s).isEqualTo("search origin 'connectra': timeout must be positive"))
                .anySatisfy(s -> assertThat(s).contains("failure-ratio"))
                .hasSize(3);
    }
}
