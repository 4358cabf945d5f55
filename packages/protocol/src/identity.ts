import { z } from 'zod';
import { filterError, topicError } from './topics.js';

/** SPEC "Identities": a device id, also usable as a single topic level. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A metric or command name: one topic level, same alphabet as device ids. */
export const NAME_PATTERN = DEVICE_ID_PATTERN;

/** What a device id or name must look like, in the words errors use. */
export const NAME_RULE = 'expected 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

export const deviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, NAME_RULE);
/** A metric, command or sensor name. */
export const nameSchema = z.string().regex(NAME_PATTERN, NAME_RULE);

/**
 * A reading's unit: what instruments print (`°C`, `%`, `m/s²`, `µg/m³`, `kWh`, `€/MWh`, `1/min`).
 * Text that a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) or that breaks lines is
 * refused where it enters, so it cannot come back out of a CSV export.
 */
export const UNIT_PATTERN = /^[\p{L}\p{N}%°‰\p{Sc}][\p{L}\p{N}%°‰\p{Sc} /.·*^()_-]{0,31}$/u;
export const UNIT_RULE =
  'expected 1-32 letters, digits, spaces or % ° ‰ / . · * ^ ( ) _ -, starting with a letter, digit, %, ° or a currency sign';
export const unitSchema = z.string().regex(UNIT_PATTERN, UNIT_RULE);

/** A string checked by one of the topic validators, which say in words what is wrong. */
const checkedString = (check: (value: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const topicSchema = checkedString(topicError);
export const filterSchema = checkedString(filterError);

export const accessSchema = z.enum(['read', 'readwrite']);
export type Access = z.infer<typeof accessSchema>;

export const permissionSchema = z.object({ filter: filterSchema, access: accessSchema });
export type Permission = z.infer<typeof permissionSchema>;

/** Payload of the retained `devices/{id}/status` topic. */
export const presenceSchema = z.object({ online: z.boolean(), at: z.iso.datetime({ offset: true }) });
export type Presence = z.infer<typeof presenceSchema>;

/** Payload of the retained `devices/{id}/cmd-list` topic: the commands the device's agent answers. */
export const commandListSchema = z.object({ commands: z.array(nameSchema) });
export type CommandList = z.infer<typeof commandListSchema>;
