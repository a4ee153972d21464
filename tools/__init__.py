"""Development tooling, never deployed: the local stack (local/), benchmarks (bench/),
the build check, the demo and the CloudFormation loader. Tests import these; these
import nothing of tests."""
