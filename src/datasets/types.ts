// What every dataset source produces before the dataset stage writes it out.
import { InputError } from '../errors.ts';

export interface SlideEntry {
  case_id: string;
  slide_id: string;
  /** Class name (after task.label_map). */
  label: string;
  label_index: number;
  /** Instances (patches) in the bag. */
  n: number;
  /** Absolute path of an external feature file (clam), when the stage does not write the bag. */
  externalPath?: string;
}

export interface Excluded {
  slide_id: string;
  reason: string;
}

/** Problems that name their source line; thrown together. */
export class DatasetError extends InputError {
  constructor(readonly problems: string[]) {
    super(problems.length <= 20 ? problems.join('\n') : [...problems.slice(0, 20), `... and ${problems.length - 20} more`].join('\n'));
    this.name = 'DatasetError';
  }
}
