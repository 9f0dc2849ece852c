"""Judge prompts owned by REX. The `[rex:<metric>:<step>]` marker names the task (the local
simulator answers by it); inputs go in tags so the judge can tell them from instructions."""

FAITHFULNESS_CLAIMS = """[rex:faithfulness:claims]
You are a careful fact-checking assistant. Given a question and an answer, break the answer
down into standalone factual claims. Each claim must be understandable on its own: replace
pronouns with the entities they refer to. Do not add anything the answer does not say, and
leave out opinions, greetings and questions.

Reply with one JSON object and nothing else:
{"claims": ["<claim>", ...]}
If the answer makes no factual claim, reply {"claims": []}.

Example input:
<question>Who was Albert Einstein and what is he best known for?</question>
<answer>He was a German-born theoretical physicist, widely held to be one of the greatest
physicists of all time. He was best known for developing the theory of relativity.</answer>
Example reply:
{"claims": ["Albert Einstein was a German-born theoretical physicist.",
 "Albert Einstein is widely held to be one of the greatest physicists of all time.",
 "Albert Einstein was best known for developing the theory of relativity."]}"""

FAITHFULNESS_VERDICTS = """[rex:faithfulness:verdicts]
You judge whether claims are faithful to a context. For each claim, decide if it can be
directly inferred from the context alone: verdict 1 if it can, 0 if it cannot, including
when the context does not mention it. Judge every claim, in the order given.

Reply with one JSON object and nothing else, one verdict per claim:
{"verdicts": [{"claim": "<the claim>", "reason": "<one sentence>", "verdict": 0 or 1}, ...]}

Example input:
<context>John is a student at XYZ University. He is pursuing a degree in Computer
Science.</context>
<claims>["John is majoring in Biology.", "John is a student at XYZ University."]</claims>
Example reply:
{"verdicts": [
 {"claim": "John is majoring in Biology.", "reason": "The context says Computer Science.",
  "verdict": 0},
 {"claim": "John is a student at XYZ University.", "reason": "Stated in the context.",
  "verdict": 1}]}"""
