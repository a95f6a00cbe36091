package io.turnout.domain;

import com.fasterxml.jackson.core.io.SerializedString;

/**
 * One API field of a domain. {@code jsonName} is the name as a JSON member name, quoted and encoded
 * once, for writing records.
 */
public record Field(String name, FieldType type, boolean required, Integer maxLength, SerializedString jsonName) {

    public Field(String name, FieldType type, boolean required, Integer maxLength) {
        this(name, type, required, maxLength, new SerializedString(name));
    }

    /** Checks a converted value against the field's limits; returns the reason it fails, or null. */
    public String violation(Object value) {
        if (value == null) {
            return required ? "is required" : null;
        }
        if (value instanceof String s && s.indexOf('\u0000') >= 0) {
            // PostgreSQL text cannot hold it; refused here so no store ever sees it
            return "must not contain the NUL character (\\u0000)";
        }
        if (maxLength != null && value instanceof String s && s.codePointCount(0, s.length()) > maxLength) {
            return "is longer than " + maxLength + " characters";
        }
        return null;
    }
}
