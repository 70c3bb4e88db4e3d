// Search values for identifier tokens, escaped as FHIR R4 search requires (`\` before `\`, `,`, `|` and
// `$`), so codes such as `A,B` or `A|B` find their own resource and nothing else. The one place the
// export's conditional URLs, its parent searches and the import's lookups build them. Node-RED-free.

/** `value` with FHIR search's special characters escaped. */
export function escapeSearchValue(value: string): string {
  // Most codes hold none: testing first spares building a copy of each.
  return SPECIAL.test(value) ? value.replace(SPECIALS, '\\$&') : value;
}
const SPECIAL = /[\\,|$]/;
const SPECIALS = /[\\,|$]/g;

/** The token `<system>|<code>` for an `identifier` search; an empty code matches every code of the system. */
export function identifierToken(system: string, code: string): string {
  return `${escapeSearchValue(system)}|${escapeSearchValue(code)}`;
}

/**
 * `<Type>?identifier=<system>|<code>`, escaped and URL-encoded; GPR concatenates both unescaped and
 * unencoded, which gprCompat keeps.
 */
export function conditionalUrl(resourceType: string, system: string, code: string, gprCompat = false): string {
  if (gprCompat) return `${resourceType}?identifier=${system}|${code}`;
  return `${resourceType}?identifier=${encodedSystem(system)}|${encodeURIComponent(escapeSearchValue(code))}`;
}

/** The last System escaped and encoded: an export asks for the same one for each of its entries. */
let lastSystem = { system: '', encoded: '' };
function encodedSystem(system: string): string {
  if (lastSystem.system !== system) lastSystem = { system, encoded: encodeURIComponent(escapeSearchValue(system)) };
  return lastSystem.encoded;
}
