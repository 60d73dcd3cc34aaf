import { CliError, EXIT_USAGE } from './cli-error.js';

/**
 * A manifest that is not valid JSON or not in the manifest format. The message
 * starts with `file:line:column:` and names the field, such as
 * `recipients[2].boxes[0].title: expected a non-empty string`.
 */
export class ManifestError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = 'ManifestError';
  }
}
