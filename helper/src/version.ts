/** The program name clients run and the reference helpers print in usage and error lines. */
export const HELPER_NAME = 'docker-credential-scalr';

/** The package named in the version line, as the reference helpers print `<Name> (<Package>) <Version>`. */
export const HELPER_PACKAGE = 'scalr-credd';

/** The helper's version; a unit test keeps it equal to helper/package.json. */
export const HELPER_VERSION = '0.1.0';
