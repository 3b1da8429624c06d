/**
 * Job scripts from templates. `{{name}}` is replaced by the value shell-quoted as one word, so file
 * and project names with spaces, quotes, `$()`, backticks or `;` stay data. `{{env}}` is the
 * configured environment line (operator-written, inserted as a command) with its own placeholders
 * quoted. An unknown placeholder is an error naming it.
 */

import { ConfigError } from '../core/errors.ts';
import { quoteArg } from './executors/quote.ts';

export type TemplateVars = Record<string, string | number>;

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

function fill(text: string, vars: TemplateVars, where: string): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      throw new ConfigError(
        `${where}: unknown placeholder {{${name}}}`,
        `available: ${Object.keys(vars)
          .map((k) => `{{${k}}}`)
          .join(' ')}`,
      );
    }
    return quoteArg(String(v));
  });
}

export function renderScript(template: string, vars: TemplateVars, envLine: string, where: string): string {
  const env = fill(envLine, vars, `${where} (processing.environment)`);
  const body = fill(template.replace(/\{\{\s*env\s*\}\}/g, '\u0000ENV\u0000'), vars, where).replace(
    '\u0000ENV\u0000',
    env,
  );
  return body.startsWith('#!') ? body : `#!/bin/bash\nset -euo pipefail\n${body}`;
}
