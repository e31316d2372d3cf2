// Reading what is typed into the dashboard's fields, without the DOM (unit-tested in Node).

/**
 * The whole number in a field, within [min, max], or what is wrong with it. A number field that is empty or
 * holds no number reads as '', which Number() would silently turn into 0.
 */
export function readWholeNumber(text: string, what: string, min: number, max: number): number | string {
  const t = text.trim();
  if (t === '') return `${what}: enter a number from ${min} to ${max}`;
  const n = Number(t);
  if (!Number.isInteger(n) || n < min || n > max) return `${what}: "${t}" is not a whole number from ${min} to ${max}`;
  return n;
}
