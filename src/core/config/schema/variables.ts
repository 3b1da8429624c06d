/**
 * Config schema: `variables` (defaults of the runtime variables operators may change).
 */
import { z } from 'zod';
import { type VariableName, type VariableValue, variableDefs } from '../../variables.ts';
import { section } from './building-blocks.ts';

type VariablesShape = { [K in VariableName]: z.ZodOptional<z.ZodType<VariableValue<K>>> };

const shape = Object.fromEntries(
  Object.entries(variableDefs).map(([name, d]) => [name, (d.schema as z.ZodType).optional()]),
) as VariablesShape;

/** Config-file defaults for runtime variables (see `sluice vars list`); database overrides win. */
export const variablesSchema = section(z.strictObject(shape));
