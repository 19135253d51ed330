"""Development tools of the CoreTelecoms pipeline, never shipped with it: the source generator, the
demo and the bench (the `coretelecoms-dev` command). Installed from dev/ by `make install`."""
