package io.turnout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import io.turnout.support.Management;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import jakarta.inject.Inject;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * /q/openapi describes every route of the data and control APIs, each with its method, and is a
 * valid OpenAPI 3 document; Swagger UI is served next to it.
 */
@QuarkusTest
class OpenApiTest {
    private static final Set<Class<? extends java.lang.annotation.Annotation>> METHODS = Set.of(jakarta.ws.rs.GET.class,
            jakarta.ws.rs.POST.class, jakarta.ws.rs.PUT.class, jakarta.ws.rs.PATCH.class, jakarta.ws.rs.DELETE.class);

    @Inject
    Router router;

    private static OpenAPI document() {
        String served = Management.given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200)
                .extract().asString();
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(served);
        assertThat(result.getMessages()).as("problems the OpenAPI parser found").isEmpty();
        return result.getOpenAPI();
    }

    /** A path with its parameters unnamed, so /data/:domain and /data/{domain} compare equal. */
    private static String shape(String path) {
        return path.replaceAll("\\{[^}/]+}", "{}").replaceAll(":[A-Za-z_]+", "{}").replaceAll("/$", "");
    }

    /** Method and shape of every operation the document describes. */
    private static Set<String> described(OpenAPI api) {
        Set<String> ops = new TreeSet<>();
        api.getPaths().forEach((path, item) -> item.readOperationsMap().keySet()
                .forEach(m -> ops.add(m.name() + " " + shape(path))));
        return ops;
    }

    /** Every route the application serves: the data API's router routes and the REST resources' methods. */
    private Set<String> served() throws IOException, ClassNotFoundException {
        Set<String> routes = new TreeSet<>();
        for (Route r : router.getRoutes()) {
            // the console (/console) is a page for people, not part of the API
            if (r.getPath() == null || r.getPath().startsWith("/q") || r.getPath().startsWith("/console")
                    || r.methods() == null || r.methods().isEmpty()) continue;
            r.methods().forEach(m -> routes.add(m.name() + " " + shape(r.getPath())));
        }
        Path classes = Path.of("target/classes");
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
                Class<?> type = Class.forName(name, false, getClass().getClassLoader());
                jakarta.ws.rs.Path base = type.getAnnotation(jakarta.ws.rs.Path.class);
                if (base == null) continue;
                for (Method m : type.getDeclaredMethods()) {
                    for (var verb : METHODS) {
                        if (!m.isAnnotationPresent(verb)) continue;
                        jakarta.ws.rs.Path sub = m.getAnnotation(jakarta.ws.rs.Path.class);
                        String path = base.value() + (sub == null ? "" : (sub.value().startsWith("/") ? "" : "/") + sub.value());
                        routes.add(verb.getSimpleName() + " " + shape(path));
                    }
                }
            }
        }
        return routes;
    }

    @Test
    void everyRouteIsDescribedAndNothingElse() throws Exception {
        Set<String> served = served();
        assertThat(served).as("routes found").contains("GET /data", "GET /data/{}", "POST /data/{}", "PATCH /data/{}/{}",
                "POST /admin/migrations/{}/stage", "POST /admin/replicas/{}/forget");
        assertThat(described(document())).isEqualTo(served);
    }

    @Test
    void theDataApiDescribesItsHeadersFiltersAndProblems() {
        OpenAPI api = document();
        PathItem record = api.getPaths().get("/data/{domain}/{key}");
        var get = record.getGet();
        assertThat(get.getResponses().get("200").get$ref()).isEqualTo("#/components/responses/Record");
        var ok = api.getComponents().getResponses().get("Record");
        assertThat(ok.getHeaders()).containsKeys("X-Turnout-Origin", "X-Turnout-Stage");
        var unavailable = api.getComponents().getResponses().get("Unavailable");
        assertThat(unavailable.getHeaders()).containsKeys("Retry-After", "X-Turnout-Origin", "X-Turnout-Stage");
        assertThat(unavailable.getContent()).containsKey("application/problem+json");
        Map<String, Object> names = new TreeMap<>();
        api.getPaths().get("/data/{domain}").getGet().getParameters().forEach(p -> names.put(p.getName(), p.getIn()));
        assertThat(names).containsEntry("limit", "query").containsEntry("after", "query").containsEntry("filters", "query");
        assertThat(api.getPaths().get("/data/{domain}").getPost().getResponses()).containsKeys("201", "400", "409", "413", "415", "422", "503");
    }

    @Test
    void swaggerUiIsServedWithTheDocument() {
        String page = Management.given().get("/q/swagger-ui/").then().statusCode(200).extract().asString();
        assertThat(page).contains("swagger-ui");
    }
}
