/**
 * A package manager as distrobuilder drives it (definitions-spec section 4):
 * the argv of each phase, run inside the image. install and remove get the
 * set's own flags and then the packages appended; `null` means the manager
 * has no such command and the step is left out.
 */
export interface PackageManagerSpec {
  name: string;
  refresh: string[] | null;
  update: string[] | null;
  install: string[];
  remove: string[];
  clean: string[] | null;
  /** Run once before anything else touches the package database (pacman's keyring). */
  setup?: (ctx: { architectureKernel: string }) => string[] | null;
  repositories: RepositoryHandling;
}

export interface RepositoryHandling {
  /** The customization stage's repository handler family, or null when repositories are ignored. */
  handler: 'apt' | 'apk' | 'yum' | 'zypper' | 'pacman' | 'equo' | 'anise' | null;
  /** What adding a repository does, for `kiln plan` and the docs. */
  description: string;
}
