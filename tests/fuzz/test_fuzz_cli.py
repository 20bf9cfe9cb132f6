"""Generated command lines for info, train and export exit 0, or 1 or 2 with an error line on
stderr; never a traceback, never an exception out of main."""
from hypothesis import given, strategies as st

from fuzz_budget import budget, run_case


@budget(30)
@given(data=st.data())
def test_command_lines_end_with_an_exit_code_and_never_a_traceback(kinds, data):
    kind = kinds("cli")
    run_case(kind, data.draw(kind.strategy, label="argv"))
