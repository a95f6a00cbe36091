package io.turnout.control;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.OffsetDateTime;

/**
 * A domain's row in {@code turnout_stage}, as Hibernate Reactive maps it. Stage control reads and
 * switches it ({@link StageControl}); copies hold it {@code FOR SHARE} through the data path while
 * they commit, so a switch waits for them.
 */
@Entity
@Table(name = "turnout_stage")
public class StageRecord extends PanacheEntityBase {
    @Id
    public String domain;

    @Column(nullable = false)
    public String applied;

    @Column(name = "changed_at", nullable = false, insertable = false)
    public OffsetDateTime changedAt;

    public String desired;

    @Column(name = "mirrored_since")
    public OffsetDateTime mirroredSince;

    @Column(name = "shadow_compared", nullable = false)
    public long shadowCompared;

    @Column(name = "shadow_confirmed", nullable = false)
    public long shadowConfirmed;
}
