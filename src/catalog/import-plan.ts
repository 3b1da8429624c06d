/**
 * Pure: what importing a samples sheet would do, row by row: create, update, leave unchanged or
 * reject (with every reason). Columns `refcode`, `name` and `project` are required, `type` optional;
 * every other column is an attribute. A re-import sets the attributes of the sheet's columns (an
 * empty cell removes one) and keeps attributes the sheet has no column for.
 */
import type { AttributeCheck } from './attributes.ts';
import type { SheetRow, SheetStream } from './sheet.ts';

export const REQUIRED_COLUMNS = ['refcode', 'name', 'project'] as const;
const FIXED = new Set(['refcode', 'name', 'project', 'type']);
export const REFCODE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface SampleValues {
  refcode: string;
  name: string;
  project_id: string;
  type: string | null;
  attributes: Record<string, unknown>;
}

export interface Existing extends SampleValues {}

export interface PlannedRow {
  row: number;
  refcode: string;
  action: 'create' | 'update' | 'unchanged';
  before: SampleValues | null;
  after: SampleValues;
  /** For updates: the fields that change (`name`, `attributes.conc` …). */
  changed: string[];
}

export interface Rejected {
  row: number;
  refcode: string | null;
  reasons: string[];
}

export interface ImportPlan {
  rows: PlannedRow[];
  rejected: Rejected[];
}

export interface PlanRules {
  header: readonly string[];
  /** Projects rows may name (those that exist and the importer may see). */
  projects: ReadonlySet<string>;
  check: AttributeCheck;
}

export interface PlanInput {
  sheet: SheetStream;
  existing: ReadonlyMap<string, Existing>;
  /** Projects rows may name (those that exist and the importer may see). */
  projects: ReadonlySet<string>;
  check: AttributeCheck;
}

/** The sheet's missing required columns (an empty list when it has them all). */
export function missingColumns(header: readonly string[]): string[] {
  return REQUIRED_COLUMNS.filter((c) => !header.includes(c));
}

/** JSON with keys sorted, so equal attribute sets compare equal. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function changedFields(a: SampleValues, b: SampleValues): string[] {
  const out: string[] = [];
  if (a.name !== b.name) out.push('name');
  if (a.project_id !== b.project_id) out.push('project');
  if (a.type !== b.type) out.push('type');
  for (const k of new Set([...Object.keys(a.attributes), ...Object.keys(b.attributes)])) {
    if (canonical(a.attributes[k]) !== canonical(b.attributes[k])) out.push(`attributes.${k}`);
  }
  return out;
}

/** What a column of the sheet holds: one of the fixed fields, or an attribute. */
type Role = 'refcode' | 'name' | 'project' | 'type' | 'attribute';
const roleOf = (col: string): Role => (FIXED.has(col) ? (col as Role) : 'attribute');

/** One row's values and reasons to reject it (before comparing with what exists). */
function readRow(rules: PlanRules, roles: readonly Role[], cells: SheetRow['cells']) {
  const { header } = rules;
  const reasons: string[] = [];
  const fixed: Record<'refcode' | 'name' | 'project' | 'type', string | null> = {
    refcode: null,
    name: null,
    project: null,
    type: null,
  };
  const attrs: Record<string, unknown> = {};
  const cleared: string[] = [];
  // columns whose cell has a problem (already a reason: not reported again as empty)
  const bad = { refcode: false, name: false, project: false };
  if (
    cells.length > header.length &&
    cells.slice(header.length).some((c) => 'problem' in c || c.value !== null)
  ) {
    reasons.push(`${cells.length} cells but the header names ${header.length} columns`);
  }
  for (let i = 0; i < header.length; i++) {
    const col = header[i]!;
    const role = roles[i]!;
    const cell = cells[i] ?? NO_VALUE;
    if ('problem' in cell) {
      if (role === 'refcode' || role === 'name' || role === 'project') bad[role] = true;
      reasons.push(`column '${col}': ${cell.problem}`);
    } else if (role !== 'attribute') fixed[role] = cell.value === null ? null : String(cell.value);
    else if (cell.value === null) cleared.push(col);
    else attrs[col] = cell.value;
  }
  const refcode = fixed.refcode;
  if (refcode === null) {
    if (!bad.refcode) reasons.push("column 'refcode' is empty");
  } else if (!REFCODE.test(refcode)) {
    reasons.push(
      `column 'refcode': expected letters, digits, '.', '_', ':' or '-' (at most 128, starting with a letter or digit), found '${refcode.slice(0, 40)}'`,
    );
  }
  if (fixed.name === null && !bad.name) reasons.push("column 'name' is empty");
  if (fixed.project === null) {
    if (!bad.project) reasons.push("column 'project' is empty");
  } else if (!rules.projects.has(fixed.project)) {
    reasons.push(
      `column 'project': no project '${fixed.project}' (or not one you may see); add it first with \`sluice projects add\``,
    );
  }
  return { refcode, fixed, attrs, cleared, reasons };
}

const NO_VALUE = { value: null } as const;

/**
 * Plans rows one at a time, in the sheet's order (each call the next row), against `existing`, which
 * must hold the samples of that row's refcode if there are any: the row planned (`PlannedRow`) or
 * rejected (`Rejected`, with `reasons`). A row repeating an earlier row's refcode is rejected. So a
 * caller may look up and write the rows in steps while it reads the rest (src/catalog/import.ts).
 */
export function rowPlanner(
  rules: PlanRules,
): (row: SheetRow, existing: ReadonlyMap<string, Existing>) => PlannedRow | Rejected {
  const seen = new Map<string, number>();
  const roles = rules.header.map(roleOf);
  return ({ row, cells }, existing) => {
    const r = readRow(rules, roles, cells);
    if (r.refcode !== null && seen.has(r.refcode)) {
      r.reasons.push(
        `refcode '${r.refcode}' is also on row ${seen.get(r.refcode)} (each sample once per sheet)`,
      );
    } else if (r.refcode !== null) seen.set(r.refcode, row);
    const before = r.refcode === null ? undefined : existing.get(r.refcode);
    // a new sample's attributes are the row's (a cleared column is in neither); an existing one's
    // are merged into what it has
    let attributes = r.attrs;
    if (before) {
      attributes = { ...before.attributes, ...r.attrs };
      for (const k of r.cleared) delete attributes[k];
    }
    const after: SampleValues = {
      refcode: r.refcode ?? '',
      name: r.fixed.name ?? '',
      project_id: r.fixed.project ?? '',
      type: r.fixed.type,
      attributes,
    };
    if (r.reasons.length === 0)
      r.reasons.push(...rules.check(after.type, after.project_id, after.attributes));
    if (r.reasons.length > 0) return { row, refcode: r.refcode, reasons: r.reasons };
    const changed = before ? changedFields(before, after) : [];
    const action = !before ? 'create' : changed.length > 0 ? 'update' : 'unchanged';
    return { row, refcode: after.refcode, action, before: before ?? null, after, changed };
  };
}

/** The plan row by row, in the sheet's order (`rowPlanner` over the sheet's rows). */
export function* planRows(input: PlanInput): Generator<PlannedRow | Rejected> {
  const plan = rowPlanner({ header: input.sheet.header, projects: input.projects, check: input.check });
  for (const row of input.sheet.rows) yield plan(row, input.existing);
}

/** The plan for a whole sheet (`planRows`, collected). */
export function planImport(input: PlanInput): ImportPlan {
  const plan: ImportPlan = { rows: [], rejected: [] };
  for (const r of planRows(input)) {
    if ('reasons' in r) plan.rejected.push(r);
    else plan.rows.push(r);
  }
  return plan;
}
