package io.turnout.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.turnout.db.Databases;
import io.turnout.domain.Domains;
import io.turnout.routing.Stage;
import io.turnout.support.Browser;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import io.turnout.support.TestKeys;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The release managers' console in a real browser (headless Chromium) against a running Turnout:
 * what it shows is checked against the control database and both stores, and what it does is
 * checked there too.
 */
@QuarkusTest
class ConsoleBrowserTest {
    private static final String DOMAIN = "connections";

    @TestHTTPResource("/console/")
    URL console;

    @Inject
    Databases databases;

    @Inject
    Domains domains;

    Sql sql;
    Browser browser;

    @BeforeEach
    void freshMigration() {
        sql = new Sql(databases);
        Flags.stage(DOMAIN, Stage.LEGACY);
        sql.exec("main", "TRUNCATE company_connections");
        sql.exec("main", "DELETE FROM turnout_outbox");
        // mirroring begins now: no backfill has run since, so the step to shadow waits for one
        Flags.stage(DOMAIN, Stage.DUAL_WRITE);
        browser = new Browser();
    }

    @AfterEach
    void restore() {
        if (browser != null) browser.close();
        Flags.stage(DOMAIN, Stage.LEGACY);
    }

    private void signIn(String key) {
        browser.open(console.toString());
        browser.shown("#credential").sendKeys(key);
        browser.find("#sign-in").click();
        browser.await(10, "the overview", d -> !browser.all("#domains tbody tr").isEmpty());
    }

    private void openDomain() {
        browser.click("#domains a[href='#/domains/" + DOMAIN + "']");
        browser.await(10, "the domain page", d -> !browser.all("#stage-track li.applied").isEmpty());
    }

    /** What the backfill's progress bar shows, -1 before it shows anything. */
    private int percent() {
        String now = browser.find("#backfill-progress").getAttribute("aria-valuenow");
        return now == null ? -1 : Integer.parseInt(now);
    }

    /** The stage the page marks as applied. */
    private String applied() {
        return browser.find("#stage-track li.applied").getAttribute("data-stage");
    }

    /** Confirms the open dialog, with a reason when it asks for one. */
    private void confirm(String reason) {
        WebElement dialog = browser.shown("#confirm");
        if (reason != null) browser.find("#confirm-reason").sendKeys(reason);
        browser.find("#confirm-ok").click();
        browser.await(15, "the dialog to close", d -> !dialog.isDisplayed());
    }

    private String appliedInControlDatabase() {
        return (String) sql.row("main", "SELECT applied FROM turnout_stage WHERE domain = $1", DOMAIN).get("applied");
    }

    @Test
    void aReleaseManagerTakesADomainFromBackfillToShadowInTheBrowser() {
        signIn(TestKeys.SUITE);

        // every domain, each with the stage the control database records (read as one rendering of
        // the polled table: a row replaced while it is read is read again with the rest)
        Map<String, Object> recorded = new java.util.HashMap<>();
        sql.rows("main", "SELECT domain, applied FROM turnout_stage").forEach(r -> recorded.put((String) r.get("domain"), r.get("applied")));
        Map<String, Object> shown = browser.await(10, "the overview's stages", d -> {
            Map<String, Object> stages = new java.util.HashMap<>();
            for (WebElement row : browser.all("#domains tbody tr")) {
                stages.put(row.getAttribute("data-domain"), row.findElement(By.cssSelector(".track li.applied")).getAttribute("data-stage"));
            }
            return stages;
        });
        assertThat(shown).hasSize(domains.all().size());
        shown.forEach((domain, stage) -> assertThat(stage).as(domain).isEqualTo(recorded.get(domain)));
        assertThat(browser.text("#domains tr[data-domain='contacts']")).contains("connectra: closed");
        browser.screenshot("overview");

        openDomain();
        browser.mark();
        assertThat(applied()).isEqualTo("dual_write");

        // the step to shadow cannot pass before a backfill: the button says so and stays disabled
        WebElement next = browser.find("#move-next");
        browser.await(10, "the gates of the next step", d -> next.getText().equals("Move to shadow") && !browser.find("#move-why").getText().isEmpty());
        assertThat(next.isEnabled()).isFalse();
        assertThat(browser.find("#move-why [data-gate='backfill']").getText()).contains("backfill");

        // a backfill started from the console, limited so its progress can be watched
        new Select(browser.find("#backfill-direction")).selectByValue("forward");
        browser.find("#backfill-rate").sendKeys("20000");
        browser.find("#backfill-start").click();
        confirm(null);
        // paused on its way, and resumed
        browser.await(30, "the backfill under way", d -> percent() > 0 && percent() < 100);
        browser.find("#backfill-pause").click();
        browser.await(10, "the backfill paused", d -> browser.find("#backfill-state").getText().equals("paused"));
        assertThat(sql.row("main", "SELECT state FROM turnout_backfill WHERE domain = $1 ORDER BY id DESC LIMIT 1", DOMAIN))
                .containsEntry("state", "paused");
        assertThat(browser.find("#backfill-pause").isEnabled()).isFalse();
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections")).as("stopped short of the end")
                .isLessThan(sql.count("main", "SELECT count(*) FROM user_connections"));
        browser.find("#backfill-resume").click();
        List<Integer> seen = new ArrayList<>();
        browser.await(120, "the progress bar at 100 %", d -> {
            int percent = percent();
            if (seen.isEmpty() || seen.get(seen.size() - 1) != percent) seen.add(percent);
            return percent == 100 && browser.find("#backfill-state").getText().equals("done");
        });
        assertThat(seen).as("progress values shown").anyMatch(p -> p > 0 && p < 100);
        assertThat(browser.marked()).as("the page was not reloaded").isTrue();
        long legacyRows = sql.count("main", "SELECT count(*) FROM user_connections");
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections")).isEqualTo(legacyRows);
        assertThat(browser.find("#backfill [data-count='rows'] b").getText()).isEqualTo(String.format("%,d", legacyRows));

        // a row changed behind Turnout's back: verification finds it by key and field, repair fixes it
        sql.exec("main", "UPDATE company_connections SET status = 'tampered' WHERE id = 4242");
        browser.find("#verify").click();
        browser.await(60, "the verification's differences", d -> browser.find("#verification-state").getText().equals("differences")
                && !browser.all("#verification-differences tr[data-key='4242']").isEmpty());
        assertThat(browser.find("#verification [data-count='different'] b").getText()).isEqualTo("1");
        assertThat(browser.find("#verification-differences tr[data-key='4242']").getText()).contains("different").contains("status");
        browser.find("#repair").click();
        confirm(null);
        assertThat(browser.shown("#repair-note").getText()).contains("Repaired 1 keys");
        assertThat(sql.row("main", "SELECT status FROM company_connections WHERE id = 4242"))
                .isEqualTo(sql.row("main", "SELECT status FROM user_connections WHERE id = 4242"));
        browser.find("#verify").click();
        browser.await(60, "a clean verification", d -> browser.find("#verification-state").getText().equals("clean"));

        // now the step passes: moved from the console, with a reason, and applied by stage control
        browser.await(15, "the step to shadow ready", d -> next.isEnabled());
        next.click();
        confirm("backfill done and verified clean");
        browser.await(30, "shadow applied", d -> "shadow".equals(applied()));
        assertThat(appliedInControlDatabase()).isEqualTo("shadow");
        browser.await(10, "the audit entry", d -> browser.find("#audit-entries").getText().contains("backfill done and verified clean"));
        WebElement entry = browser.find("#audit-entries tr[data-entry='stage-requested']");
        assertThat(entry.getText()).contains("suite").contains("dual write → shadow");
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_audit WHERE domain = $1 AND action = 'stage-requested' AND reason = $2",
                DOMAIN, "backfill done and verified clean")).isEqualTo(1);

        // the next step waits for shadow comparisons, and says so
        browser.await(10, "the gates of the step to live", d -> browser.find("#move-next").getText().equals("Move to live")
                && !browser.all("#move-why [data-gate='shadow_comparisons']").isEmpty());
        assertThat(browser.find("#move-next").isEnabled()).isFalse();
        assertThat(browser.find("#move-why [data-gate='shadow_comparisons']").getText()).contains("comparisons");

        // every control can be reached from the keyboard
        browser.find("body").click();
        WebElement verify = browser.find("#verify");
        for (int i = 0; i < 80 && !verify.equals(browser.driver().switchTo().activeElement()); i++) {
            browser.driver().switchTo().activeElement().sendKeys(Keys.TAB);
        }
        assertThat(browser.driver().switchTo().activeElement()).isEqualTo(verify);
        browser.screenshot("domain");
        assertThat(browser.marked()).isTrue();
        browser.assertNoErrors();
    }

    @Test
    void anApproverMayOnlyApproveARetirementAndNoneIsOpen() {
        signIn(TestKeys.APPROVER);
        openDomain();
        browser.await(10, "the retirement checklist", d -> !browser.find("#retirement").getText().isBlank()
                && !browser.all("#retirement .gates li").isEmpty());
        assertThat(browser.all("[data-action]")).extracting(e -> e.getAttribute("data-action")).containsExactly("retire-approve");
        assertThat(browser.find("#retire-approve").isEnabled()).as("no request to approve").isFalse();
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_retirement WHERE domain = $1 AND state = 'requested'", DOMAIN)).isZero();
        browser.assertNoErrors();
    }

    @Test
    void anOperatorSeesEverythingAndNoActions() {
        signIn(TestKeys.OPERATOR);
        assertThat(browser.find("#who").getText()).contains("ops").contains("operator");
        openDomain();
        browser.await(10, "the audit trail", d -> !browser.find("#audit").getText().isEmpty());
        assertThat(browser.all("[data-action]")).as("action buttons").isEmpty();
        assertThat(browser.all("#move-next, #backfill-start, #verify, #repair, #retire-request, #retire-approve")).isEmpty();
        assertThat(browser.find("#verification-details").isDisplayed()).isTrue();
        browser.assertNoErrors();

        // a credential the control API does not know is refused with a reason, and nothing shows
        browser.find("#sign-out").click();
        browser.shown("#credential").sendKeys("trn_not_a_key");
        browser.find("#sign-in").click();
        assertThat(browser.shown(".signin .error").getText()).isEqualTo("That credential is not valid.");
        assertThat(browser.all("#domains")).isEmpty();
    }
}
