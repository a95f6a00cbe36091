package io.turnout.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Filters and keyset pagination return exactly what the same query in SQL returns. */
@QuarkusTest
class ListQueryTest {

    @Inject
    Databases databases;

    @BeforeEach
    void readFromLegacy() {
        Flags.stage("messages", Stage.LEGACY);
        Flags.stage("connections", Stage.LEGACY);
    }

    @Test
    void filtersMatchSql() {
        Sql sql = new Sql(databases);
        List<Long> expected = sql.rows("main", "SELECT id FROM direct_messages WHERE sender_id = 17 AND is_read "
                + "AND created_at >= '2024-01-05' ORDER BY id").stream().map(r -> (Long) r.get("id")).toList();
        assertThat(expected).isNotEmpty();
        Response r = given().queryParam("sender_id", 17).queryParam("is_read", true)
                .queryParam("created_at.gte", "2024-01-05T00:00:00Z").queryParam("limit", 1000).get("/data/messages");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getList("items.id", Long.class)).isEqualTo(expected);
        assertThat(r.jsonPath().getString("next")).isNull();

        List<Long> in = given().queryParam("id.in", "5,9,11").get("/data/messages").jsonPath().getList("items.id", Long.class);
        assertThat(in).containsExactly(5L, 9L, 11L);
        List<Long> range = given().queryParam("id.gt", 100).queryParam("id.lt", 104).get("/data/messages").jsonPath().getList("items.id", Long.class);
        assertThat(range).containsExactly(101L, 102L, 103L);
    }

    @Test
    void keysetPaginationVisitsEveryRowOnce() {
        Sql sql = new Sql(databases);
        long total = sql.count("main", "SELECT count(*) FROM user_connections WHERE user_id = 5");
        List<Long> seen = new ArrayList<>();
        String after = null;
        int pages = 0;
        do {
            var req = given().queryParam("user_id", 5).queryParam("limit", 3);
            if (after != null) req.queryParam("after", after);
            Response page = req.get("/data/connections");
            assertThat(page.header("X-Turnout-Origin")).isEqualTo("legacy");
            seen.addAll(page.jsonPath().getList("items.id", Long.class));
            Object next = page.jsonPath().get("next");
            assertThat(next == null || next instanceof Number).as("next is a key like the records' ids: %s", next).isTrue();
            after = page.jsonPath().getString("next");
            pages++;
        } while (after != null && pages < 1000);
        assertThat(seen).hasSize((int) total).doesNotHaveDuplicates().isSorted();
    }

    /** A page is written as UTF-8: text beyond ASCII and characters JSON escapes come back as they were written. */
    @Test
    void aPageCarriesTextBeyondAsciiAndEscapedCharactersUnchanged() {
        String content = "Grüße, 日本語, 🙂, a \"quote\", a back\\slash and a\nnew line";
        long id = given().contentType("application/json").body(java.util.Map.of("sender_id", 4242, "recipient_id", 4243, "content", content))
                .post("/data/messages").then().statusCode(201).extract().jsonPath().getLong("id");

        Response page = given().queryParam("sender_id", 4242).queryParam("recipient_id", 4243).get("/data/messages");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("application/json");
        assertThat(page.jsonPath().getList("items.id", Long.class)).contains(id);
        assertThat(page.jsonPath().getString("items.find { it.id == " + id + " }.content")).isEqualTo(content);
        assertThat(new Sql(databases).row("main", "SELECT body FROM direct_messages WHERE id = $1", id)).containsEntry("body", content);
    }
}
