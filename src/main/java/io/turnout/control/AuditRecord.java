package io.turnout.control;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.OffsetDateTime;
import java.util.Map;
import org.hibernate.annotations.Immutable;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

/** One entry of the append-only {@code turnout_audit}, as Hibernate Reactive maps it (see {@link Audit}). */
@Entity
@Immutable
@Table(name = "turnout_audit")
public class AuditRecord extends PanacheEntityBase {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(insertable = false, updatable = false)
    public OffsetDateTime at;

    public String domain;
    public String action;
    public String actor;

    @Column(name = "from_stage")
    public String fromStage;

    @Column(name = "to_stage")
    public String toStage;

    public String reason;

    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> detail;
}
