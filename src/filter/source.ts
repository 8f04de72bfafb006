/**
 * Where a column of a filter lies in the file it was written in. YAML adds quotes, escapes,
 * indentation and line breaks around the text, all of which are characters the value lacks, so
 * the value is found in its source as a subsequence, character by character.
 */

/**
 * Offset within `source` (the YAML scalar as written) of `value[index]`, or of the end of the
 * value when `index` is its length. undefined when the value cannot be found in the source (it came
 * from an environment variable, or an escape such as \t changed it): the caller then points at
 * the scalar itself.
 */
export function offsetInSource(source: string, value: string, index: number): number | undefined {
  if (index < 0 || index > value.length) return undefined;
  let j = 0;
  for (let i = 0; i < value.length; i++) {
    while (j < source.length && source[j] !== value[i]) j++;
    if (j >= source.length) return undefined;
    if (i === index) return j;
    j++;
  }
  return j;
}
