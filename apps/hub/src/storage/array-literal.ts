/**
 * PostgreSQL array literals, for passing a list as ONE text parameter (`${textArray(ids)}::text[]`):
 * drizzle would expand a JavaScript array into a parameter per item, giving every list length a
 * statement text (and a plan) of its own. postgres.js and PGlite pass the literal through alike.
 */

/** `"text"` with `"` and `\` escaped, as an element of an array literal. */
export const quoted = (text: string): string => `"${text.replace(/["\\]/g, '\\$&')}"`;

/** The literal of elements already written as such (`quoted`, numbers, `NULL`). */
export const arrayLiteral = (elements: readonly string[]): string => `{${elements.join(',')}}`;

/** The literal of a list of texts, `null` as SQL NULL. */
export const textArray = (items: readonly (string | null)[]): string =>
  arrayLiteral(items.map((item) => (item === null ? 'NULL' : quoted(item))));
