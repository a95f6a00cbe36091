package io.turnout.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The programs some tests run (promtool, kubectl, node): found on the PATH, where
 * src/test/tools/install puts them on a Debian machine, or the test fails at once naming what to
 * install.
 */
public final class Tools {
    private Tools() {}

    /** What a program printed (stdout and stderr together) and how it ended. */
    public record Result(int exit, String output) {
        public Result succeeded(String what) {
            assertThat(exit).as(what + " exited with " + exit + ":\n" + output).isZero();
            return this;
        }
    }

    /** The program's path; fails naming the Debian package that has it when it is not on the PATH. */
    public static Path require(String command, String debianPackage) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, command);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return fail("This test runs '" + command + "', which is not on the PATH. Install it with "
                + "'apt-get install " + debianPackage + "' (Debian; bash src/test/tools/install does it as root)");
    }

    /** Runs a program in {@code dir} with {@code input} on its stdin, bounded by {@code timeout}. */
    public static Result run(Path dir, String input, Duration timeout, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output not read: " + e.getMessage() + ")";
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            if (input != null) in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            return fail(String.join(" ", cmd) + " did not finish within " + timeout);
        }
        return new Result(p.exitValue(), out.join());
    }
}
