package io.turnout.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/** The sections of a Markdown document, as the anchors GitHub gives their headings. */
final class Docs {
    private Docs() {}

    static Set<String> anchors(Path markdown) throws IOException {
        Set<String> anchors = new TreeSet<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(markdown)) {
            if (line.startsWith("```")) fenced = !fenced;
            if (fenced || !line.startsWith("#")) continue;
            String title = line.replaceFirst("^#+\\s*", "").strip().toLowerCase();
            anchors.add(title.replaceAll("[^a-z0-9 _-]", "").replace(' ', '-'));
        }
        return anchors;
    }
}
