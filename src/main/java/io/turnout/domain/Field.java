package io.turnout.domain;

/** One API field of a domain. */
public record Field(String name, FieldType type, boolean required, Integer maxLength) {

    /** Checks a converted value against the field's limits; returns the reason it fails, or null. */
    public String violation(Object value) {
        if (value == null) {
            return required ? "is required" : null;
        }
        if (maxLength != null && value instanceof String s && s.codePointCount(0, s.length()) > maxLength) {
            return "is longer than " + maxLength + " characters";
        }
        return null;
    }
}
