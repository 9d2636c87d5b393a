"""MCP prompts: conversation starters that lead a model to the dunes tools."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.interfaces.mcp.tools_jobs import result_of
from dunes.services.agents import family_catalog


def register(server: MCPServer, services: Services) -> None:
    """Add the prompts to ``server``."""

    @server.prompt(title="Design a circuit")
    def design_circuit(
        goal: Annotated[str, Field(description="What the circuit should do, in plain words.")],
        shots: Annotated[str, Field(description="Samples to draw (default 1000).")] = "1000",
    ) -> str:
        """Turn a goal into a circuit with the planner, run it, and explain the outcome."""
        catalog = "\n".join(f"- {name}: {title}" for name, title in family_catalog().items())
        return f"""Design and run a quantum circuit for this goal: {goal}

1. Call `plan_circuit` with the goal. If it returns a `family` and a `circuit`, use that circuit;
   check that its parameters (qubits, angles, marked bitstrings) match the goal and say which
   were defaults (`defaults_used`, `missing`).
2. If no family fits, write the circuit yourself in dunes' seed notation: gates separated by
   semicolons, parameters first, then qubits, e.g. `h(0); cx(0,1); rz(pi/4, 1); measure`
   (OpenQASM 2/3 is accepted too).
3. Call `simulate_circuit` with the circuit and shots={shots}.
4. Explain the result: the most likely outcomes and why the circuit produces them, with the
   histogram. Bitstrings put qubit 0 rightmost.

Circuit families the planner knows:
{catalog}
"""

    @server.prompt(title="Explain a result")
    async def explain_result(
        job_id: Annotated[str, Field(description="The job to explain (from orchestrate).")],
    ) -> str:
        """Explain what a finished job computed, from its report and outcomes."""

        out = await run_tool(result_of, services, job_id)
        return f"""Explain this dunes job to someone who knows some quantum computing: what the
circuit does, which outcomes dominate and why, whether the validation checks passed, and what
the agents decided along the way (family, parameters, defaults). Bitstrings put qubit 0
rightmost. If the job is not done or failed, say so and what to try next.
The statevector is at dunes://jobs/{job_id}/statevector and the provenance at
dunes://graph/{job_id}.

```json
{out.model_dump_json(indent=2, exclude_none=True)}
```
"""
