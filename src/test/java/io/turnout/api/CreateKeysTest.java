package io.turnout.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * What a create needs is what {@code GET /data} says it needs: a UUID key is made by Turnout when
 * the client sends none, and a field is required when a store would refuse the record without it.
 */
@QuarkusTest
class CreateKeysTest {

    @Inject
    Databases databases;

    @Inject
    Domains domains;

    @Test
    void aCreateWithoutAUuidKeyGetsOneAndTheCatalogueDoesNotAskForIt() {
        JsonPath catalogue = given().get("/data").jsonPath();
        assertThat(catalogue.getBoolean("domains.find { it.name == 'contacts' }.fields.find { it.name == 'uuid' }.required")).isFalse();

        Response r = given().contentType(ContentType.JSON).body(Map.of("first_name", "Ada", "last_name", "Keyless")).post("/data/contacts");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(201);
        UUID key = UUID.fromString(r.jsonPath().getString("uuid"));
        assertThat(r.header("Location")).endsWith("/data/contacts/" + key);
        assertThat(new Sql(databases).row("main", "SELECT first_name, last_name FROM contacts WHERE uuid = $1", key))
                .isEqualTo(Map.of("first_name", "Ada", "last_name", "Keyless"));
        assertThat(given().get("/data/contacts/" + key).jsonPath().getString("last_name")).isEqualTo("Keyless");
    }

    @Test
    void everyRequiredFieldInTheCatalogueIsOneAStoreCannotDoWithout() {
        JsonPath catalogue = given().get("/data").jsonPath();
        assertThat(catalogue.getList("domains.find { it.name == 'companies' }.fields.findAll { it.required }.name")).containsExactly("name");
        assertThat(catalogue.getList("domains.find { it.name == 'messages' }.fields.findAll { it.required }.name"))
                .containsExactlyInAnyOrder("content", "recipient_id", "sender_id");
        Response r = given().contentType(ContentType.JSON).body(Map.of("domain", "nameless.example.com")).post("/data/companies");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.jsonPath().getString("field")).isEqualTo("name");
    }

    @Test
    void theLocationOfACreatedRecordEncodesItsKeyAsOnePathSegment() {
        Domain contacts = domains.find("contacts").orElseThrow();
        assertThat(DataResource.location(contacts, "a b/c")).isEqualTo("/data/contacts/a%20b%2Fc");
        assertThat(DataResource.location(contacts, "é?#%+;~x.y_z-1")).isEqualTo("/data/contacts/%C3%A9%3F%23%25%2B%3B~x.y_z-1");
    }
}
