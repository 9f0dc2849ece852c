"""The package stands alone: it imports and tracks a call with no evaluator importable."""

import subprocess
import sys
import textwrap

# Run in a fresh interpreter where importing `evaluator` fails, as in a program that does not
# have the evaluator installed: tracking a call must neither need nor load it.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from importlib.abc import MetaPathFinder

    class NoEvaluator(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "evaluator" or name.startswith("evaluator."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoEvaluator())

    import rex_tracking

    class Usage:
        def model_dump(self, mode):
            return {"prompt_tokens": 12, "completion_tokens": 3}

    class Reply:
        model, object, service_tier, usage = "gpt-4o-mini", "chat.completion", None, Usage()

    async def main():
        sink = rex_tracking.MemorySink()
        payer = rex_tracking.Payer("acme", "search", "alice")
        async with rex_tracking.track_call(model="gpt-4o-mini", sink=sink, payer=payer) as call:
            call.record(Reply())
        [event] = sink.events
        print(event.status, event.usage.input_tokens, event.usage.output_tokens)

    asyncio.run(main())
    assert not [m for m in sys.modules if m == "evaluator" or m.startswith("evaluator.")]
    """
)


def test_the_package_tracks_a_call_with_no_evaluator_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["succeeded", "12", "3"]
