package io.turnout.support;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The packaged Turnout (target/quarkus-app) as a real process on its embedded default, in a data
 * directory of its own, for tests that kill processes. Each start points RestAssured at it.
 */
public final class TurnoutProcess implements AutoCloseable {
    private final Path dir;
    private final int pgPort;
    private final Map<String, String> env;
    private Process process;
    private String credential = TestKeys.SUITE;
    private boolean testKeys = true;
    private int httpPort;
    private int managementPort;
    /** The command that starts it; null: the packaged application on the suite's JVM settings ({@link #java(String)}). */
    private List<String> command = null;

    /**
     * A class-data archive of Turnout's start-up, shared by the suite's processes as bin/turnout
     * keeps one: the first process started records it as it exits, and every process started after
     * maps its classes from it instead of loading them again (about 1.2 s of each start here). It
     * is recorded under another name and moved into place only once its process has exited by
     * itself or on a signal Java handles, so no start meets a half-written one: the JVM writes it
     * as it exits, and one cut short by SIGKILL is refused by every later start, or crashes it if
     * its end is missing (SIGBUS). Removed when the suite starts, so a new build never meets an
     * old one.
     */
    private static final Path CLASS_DATA = Path.of("target/it-class-data/turnout.jsa");
    private static final Path CLASS_DATA_RECORDING = Path.of("target/it-class-data/recording.jsa");
    /** Whether a process is recording the archive, and which once it has started. */
    private static boolean recording;
    private static Process recorder;

    static {
        try {
            Files.deleteIfExists(CLASS_DATA);
            Files.deleteIfExists(CLASS_DATA_RECORDING);
            Files.createDirectories(CLASS_DATA.getParent());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private TurnoutProcess(Path dir, Map<String, String> env) throws IOException {
        this.dir = dir;
        this.env = new java.util.HashMap<>(env);
        this.pgPort = Ports.free();
    }

    /** A fresh directory (emptied if it exists) holding the data, the flag file and the log. */
    public static TurnoutProcess in(Path dir, String flags, Map<String, String> env) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("flags.json"), flags);
        return new TurnoutProcess(dir, env);
    }

    /** The repository's flag file with every domain at the given stage. */
    public static String flagsAt(String stage) throws IOException {
        return Files.readString(Path.of("flags/turnout-flags.json")).replace("\"name\": \"legacy\"", "\"name\": \"" + stage + "\"");
    }

    /**
     * Moves a domain to {@code target} the way a release manager does: asks for the stage, and
     * starts a forward backfill or a verification whenever the step waits for one, until the
     * domain is routed by the target stage.
     */
    public void walkTo(String domain, String target) {
        walk(domain, target);
    }

    /** {@link #walkTo} against whatever Turnout RestAssured points at (a process, or the one of a {@code @QuarkusTest}). */
    public static void walk(String domain, String target) {
        walk(domain, target, null);
    }

    /**
     * {@link #walk}, backward steps too (starting a reverse backfill when one waits for it); with
     * {@code heldBy}, also returns once that gate is the only one holding the next step.
     */
    public static void walk(String domain, String target, String heldBy) {
        requestStage(domain, target, "walk to " + target);
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(250)).until(() -> {
            var view = given().get("/admin/migrations/" + domain).jsonPath();
            if (target.equals(view.getString("applied"))) return true;
            java.util.List<String> held = view.getList("nextStep.gates.findAll { !it.pass }.name", String.class);
            if (held == null) return false;
            if (heldBy != null && held.equals(java.util.List.of(heldBy))) return true;
            String backfill = view.getString("backfill.forward.state");
            String reverse = view.getString("backfill.reverse.state");
            String verification = view.getString("lastVerification.state");
            if (held.contains("shadow_comparisons")) {
                for (int id = 1; id <= 50; id++) given().get("/data/" + domain + "/" + id);
            }
            if (held.contains("backfill") && !"running".equals(backfill)) {
                given().contentType("application/json").body("{}").post("/admin/migrations/" + domain + "/backfill");
            } else if (held.contains("reverse_backfill") && !"running".equals(reverse)) {
                given().contentType("application/json").body("{\"direction\":\"reverse\"}").post("/admin/migrations/" + domain + "/backfill");
            } else if (held.contains("verification") && !held.contains("backfill") && !held.contains("reverse_backfill")
                    && !"running".equals(verification)) {
                given().post("/admin/migrations/" + domain + "/verification");
            }
            return false;
        });
    }

    /** Asks for a desired stage through the stage API. */
    public static void requestStage(String domain, String target, String reason) {
        given().contentType("application/json").body(Map.of("target", target, "reason", reason))
                .post("/admin/migrations/" + domain + "/stage").then().statusCode(202);
    }

    /** The stage the domain is routed by, from the control API. */
    public static String applied(String domain) {
        return given().get("/admin/migrations/" + domain).jsonPath().getString("applied");
    }

    /** Waits until the domain is routed by {@code stage}. */
    public static void awaitApplied(String domain, String stage) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> stage.equals(applied(domain)));
    }

    /** The management port ({@code /q/*}) of the running process. */
    public int managementPort() {
        return managementPort;
    }

    /** The HTTP port of the running process. */
    public int port() {
        return httpPort;
    }

    /** The flag file this process reads (another process may be pointed at it). */
    public Path flagFile() {
        return dir.resolve("flags.json");
    }

    /** Whether the process is running. */
    public boolean alive() {
        return process != null && process.isAlive();
    }

    /** The directory holding the embedded server's data. */
    public Path dataDirectory() {
        return dir.resolve("pgdata");
    }

    /** Port the embedded server listens on. */
    public int pgPort() {
        return pgPort;
    }

    /**
     * The bearer credential the suite sends by default (and waits with for stage control at start);
     * null: none, and a start waits only for readiness.
     */
    public TurnoutProcess credential(String bearer) {
        this.credential = bearer;
        return this;
    }

    /** Starts without the suite's configured keys: the process generates its own (or uses OIDC). */
    public TurnoutProcess withoutTestKeys() {
        this.testKeys = false;
        return this;
    }

    /** Starts it with this command (run from the project directory) rather than {@code java -jar}. */
    public TurnoutProcess launchedBy(String... command) {
        this.command = List.of(command);
        return this;
    }

    /**
     * Stops it as an operator does (SIGTERM) and waits until it has exited; one that has not
     * after a minute is killed, and the test fails.
     */
    public void stop() {
        process.destroy();
        try {
            process.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            process.destroyForcibly().onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
            throw new IllegalStateException("Turnout did not stop within 60 s of SIGTERM; killed it. See " + dir.resolve("turnout.log"));
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends SIGTERM, as an operator's stop does, and does not wait. */
    public void terminate() {
        process.destroy();
    }

    /** Sets an environment variable for the next start. */
    public TurnoutProcess with(String name, String value) {
        env.put(name, value);
        return this;
    }

    /** Starts Turnout and waits until it is ready and stage control has taken every step whose gates pass. */
    public TurnoutProcess start() throws IOException {
        httpPort = Ports.free();
        List<String> run = command;
        boolean records = false;
        if (run == null) {
            String classData;
            synchronized (TurnoutProcess.class) {
                classData = classData();
            }
            records = classData != null && classData.startsWith("-XX:ArchiveClassesAtExit");
            run = java(classData);
        }
        ProcessBuilder pb = new ProcessBuilder(run)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("turnout.log").toFile()));
        managementPort = Ports.free();
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        pb.environment().put("QUARKUS_MANAGEMENT_PORT", Integer.toString(managementPort));
        if (testKeys) pb.environment().putAll(TestKeys.env());
        pb.environment().put("TURNOUT_EMBEDDED_DATA_DIRECTORY", dataDirectory().toString());
        pb.environment().put("TURNOUT_EMBEDDED_PORT", Integer.toString(pgPort));
        pb.environment().put("TURNOUT_FLAGS_FILE", flagFile().toString());
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            if (records) {
                synchronized (TurnoutProcess.class) {
                    recording = false;
                }
            }
            throw e;
        }
        if (records) {
            synchronized (TurnoutProcess.class) {
                recorder = p;
            }
        }
        process = p;
        RestAssured.port = httpPort;
        System.setProperty(Management.PORT, Integer.toString(managementPort));
        TestKeys.sendByDefault(credential);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (!p.isAlive()) throw new IllegalStateException("Turnout exited with status " + p.exitValue() + "; see "
                    + dir.resolve("turnout.log") + ", which ends:\n" + logTail(40));
            try {
                if (credential == null) return Management.given().get("/q/health/ready").statusCode() == 200;
                return Management.given().get("/q/health/ready").statusCode() == 200
                        // every flag read, and no step left whose gates pass
                        && given().get("/admin/migrations").jsonPath().getList("domains.findAll { it.flagProblem == null "
                                + "&& (it.desired == null || (it.nextStep != null && it.nextStep.ready)) }").isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        return this;
    }

    /**
     * The class-data option of the next start (the caller holds the class's lock): the archive once
     * it is recorded; recording it when no process is; none while another process records it.
     */
    private static String classData() throws IOException {
        if (recording && recorder != null && !recorder.isAlive()) {
            // the recorder has exited: its archive is whole only if Java ran its exit, as bin/turnout decides
            if (ranItsExit(recorder.exitValue()) && Files.exists(CLASS_DATA_RECORDING) && Files.size(CLASS_DATA_RECORDING) > 0) {
                Files.move(CLASS_DATA_RECORDING, CLASS_DATA, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            recording = false;
            recorder = null;
        }
        if (Files.exists(CLASS_DATA)) return "-XX:SharedArchiveFile=" + CLASS_DATA;
        if (recording) return null;
        Files.deleteIfExists(CLASS_DATA_RECORDING);
        recording = true;
        return "-XX:ArchiveClassesAtExit=" + CLASS_DATA_RECORDING;
    }

    /**
     * Whether a Java process that exited with this status ran its exit, where the JVM writes the
     * archive: it exited by itself, or on HUP, INT or TERM (129, 130, 143). Not after SIGKILL
     * (137) or a crash (134, 139).
     */
    private static boolean ranItsExit(int status) {
        return status <= 128 || status == 129 || status == 130 || status == 143;
    }

    /**
     * The packaged application, compiled by C1 alone: a process here lives about a minute on two
     * cores it shares with other replicas, PostgreSQL and the test, and C2's compiler threads would
     * take about 40 % of its CPU for speed it never reaches (bench/startup's JVMs keep C2, with the pod's raised thresholds).
     */
    private static List<String> java(String classData) {
        List<String> java = new java.util.ArrayList<>(List.of("java", "-XX:TieredStopAtLevel=1"));
        if (classData != null) java.add(classData);
        java.addAll(List.of("-jar", "target/quarkus-app/quarkus-run.jar"));
        return java;
    }

    /** Resident memory of the Turnout process, in MiB (Linux). */
    public long rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
        throw new IllegalStateException("no VmRSS for process " + process.pid());
    }

    /**
     * The Java process that runs Turnout: the process started, or the java child of a launcher
     * that stays its parent.
     */
    public ProcessHandle java() {
        ProcessHandle started = process.toHandle();
        return Stream.concat(Stream.of(started), started.descendants())
                .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst().orElseThrow(() -> new IllegalStateException("no java process under " + started.pid()));
    }

    /** The exit status of the process started, once it has exited, waiting at most a minute. */
    public int exitStatus() throws Exception {
        return process.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS).exitValue();
    }

    /** SIGKILL: nothing runs after it, as when a replica dies. */
    public void kill() {
        process.destroyForcibly().onExit().join();
    }

    /** SIGKILL of the embedded PostgreSQL server and every one of its processes, as in a crash of the database. */
    public void killPostgres() throws IOException {
        long pid = Long.parseLong(Files.readAllLines(dir.resolve("pgdata/postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no PostgreSQL process " + pid));
        List<ProcessHandle> all = Stream.concat(Stream.of(postmaster), postmaster.descendants()).toList();
        all.forEach(ProcessHandle::destroyForcibly);
        all.forEach(h -> h.onExit().join());
    }

    /** The first column of the first row of a query against one of the embedded databases. */
    public Object query(String database, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + pgPort + "/" + database, "postgres", "");
                ResultSet r = c.createStatement().executeQuery(sql)) {
            r.next();
            return r.getObject(1);
        }
    }

    /** Everything the process has logged, over all its starts. */
    public String log() throws IOException {
        return Files.readString(dir.resolve("turnout.log"));
    }

    /** The last lines of its log, for a failure's message. */
    private String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(dir.resolve("turnout.log"));
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    public long count(String sql) throws Exception {
        return ((Number) query("main", sql)).longValue();
    }

    /** A JDBC connection to one of the embedded databases. */
    public Connection connect(String database) throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + pgPort + "/" + database, "postgres", "");
    }

    @Override
    public void close() {
        try {
            if (process != null && process.isAlive()) stop();
        } finally {
            stopOrphanedPostgres();
        }
    }

    /** A Turnout killed by a test leaves its embedded PostgreSQL running: stopped here, so no server outlives its test. */
    private void stopOrphanedPostgres() {
        Path pidFile = dir.resolve("pgdata/postmaster.pid");
        if (!Files.exists(pidFile)) return;
        try {
            long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
            ProcessHandle.of(pid).filter(h -> h.info().command().map(c -> c.endsWith("postgres")).orElse(false)).ifPresent(h -> {
                h.destroy();
                h.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
            });
        } catch (IOException | RuntimeException e) {
            // no server left to stop
        }
    }
}
