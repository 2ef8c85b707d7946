/**
 * The one function of the `bcrypt` package (native, prebuilt) that the verifier's worker calls; the
 * package ships no types and @types/bcrypt would be a second dependency for one line.
 */
declare module 'bcrypt' {
  /** The full hash of `data` with `salt` (a `$2a$`/`$2b$` setting, or a longer string starting with one). */
  export function hashSync(data: string | Buffer, salt: string): string
}
