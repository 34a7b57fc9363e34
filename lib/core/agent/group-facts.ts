/**
 * Whether the actions of each catalog group can be undone, with the reason, for agents deciding
 * whether to ask first. Reviewable data: a group not listed here is "unknown", never "yes".
 */

/** Can the effect of a group's actions be reversed by the same team, without data loss? */
export type Undoable = 'yes' | 'mostly' | 'no' | 'unknown';

export interface GroupFact {
  readonly undoable: Undoable;
  readonly why: string;
}

export const GROUP_FACTS: Readonly<Record<string, GroupFact>> = {
  delete: {
    undoable: 'no',
    why: 'The resource and its data are gone; recreating it makes a new, empty resource with new ids, and it may take hours.',
  },
  'protection-off': {
    undoable: 'yes',
    why: 'Protection can be turned back on, but while it is off nothing stops a delete, which cannot be undone.',
  },
  'stack-replace': {
    undoable: 'no',
    why: 'A stack update may replace or delete resources, and a replaced resource loses its data; a rollback recreates, it does not restore.',
  },
  'scale-to-zero': {
    undoable: 'yes',
    why: 'Capacity can be scaled back up or restarted, but traffic fails until it is, and in-memory state is lost.',
  },
  'data-expiry': {
    undoable: 'mostly',
    why: 'The rule can be removed before it runs; data it has already expired or a key already deleted is gone.',
  },
  'dns-delete': {
    undoable: 'mostly',
    why: 'Records can be written again if their values are known, but clients fail until resolvers cache the new answer.',
  },
  'resource-policy': {
    undoable: 'mostly',
    why: 'The previous policy can be put back if it was saved; access granted in the meantime may already have been used.',
  },
  'remote-execution': {
    undoable: 'no',
    why: "Code can be redeployed, but what the commands did with the compute's role (data changed, secrets read) cannot be undone.",
  },
  detach: {
    undoable: 'mostly',
    why: 'What was detached can be attached again; traffic or access fails in between, and some attachments get new ids.',
  },
  overwrite: {
    undoable: 'no',
    why: 'The previous content is replaced; it is back only where versioning or a backup kept a copy.',
  },
  'detection-off': {
    undoable: 'mostly',
    why: 'Detection can be turned back on, but what happened while it was off was not recorded.',
  },
};

/** The fact for `group`: unknown for a group this table does not list (a custom group, say). */
export function groupFact(group: string | undefined): GroupFact {
  if (group === undefined) return { undoable: 'unknown', why: 'The action is in no protected group.' };
  return (
    GROUP_FACTS[group] ?? {
      undoable: 'unknown',
      why: `Group ${group} is not a built-in group, so whether its actions can be undone is not recorded.`,
    }
  );
}
