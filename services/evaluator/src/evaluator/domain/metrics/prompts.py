"""Judge prompts owned by REX, after the Ragas paper (Es et al., 2023) and the Ragas metric
definitions. The `[rex:<metric>:<step>]` marker names the task (the local simulator answers by
it); inputs go in tags so the judge can tell them from instructions. Each system prompt is the
same for every row of a metric, so it is the shared prefix that prompt caching reuses."""

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

ANSWER_RELEVANCY_QUESTIONS = """[rex:answer_relevancy:questions]
You reverse-engineer questions from answers. Given an answer, write the questions this answer
would be a direct and complete reply to. Write exactly the number of questions asked for, each
a single question that stands on its own. Also say whether the answer is noncommittal:
evasive, vague or ambiguous ("I don't know", "I'm not sure", "it depends") is noncommittal (1),
a definite answer is not (0).

Reply with one JSON object and nothing else:
{"questions": ["<question>", ...], "noncommittal": 0 or 1}

Example input:
<answer>Albert Einstein was born in Germany.</answer>
<count>3</count>
Example reply:
{"questions": ["Where was Albert Einstein born?", "In which country was Albert Einstein born?",
 "What is Albert Einstein's country of birth?"], "noncommittal": 0}"""

CONTEXT_PRECISION_VERDICTS = """[rex:context_precision:verdicts]
You judge retrieved contexts. Given a question, a reference answer and the contexts a
retriever returned (in rank order), decide for each context whether it was useful in arriving
at the reference answer: verdict 1 if it was, 0 if it was not. Judge every context, in the
order given.

Reply with one JSON object and nothing else, one verdict per context:
{"verdicts": [{"reason": "<one sentence>", "verdict": 0 or 1}, ...]}

Example input:
<question>What can you tell me about Albert Einstein?</question>
<reference>Albert Einstein was a German-born theoretical physicist who developed the theory
of relativity.</reference>
<context>Albert Einstein developed the theory of relativity, one of the pillars of modern
physics.</context>
<context>The Eiffel Tower was completed in 1889.</context>
Example reply:
{"verdicts": [{"reason": "It states Einstein's best-known work, as the reference does.",
  "verdict": 1},
 {"reason": "It says nothing about Einstein.", "verdict": 0}]}"""

CONTEXT_RECALL_ATTRIBUTIONS = """[rex:context_recall:attributions]
You check how much of a reference answer the retrieved contexts cover. Split the reference
answer into its sentences; for each sentence decide whether it can be attributed to the
contexts: attributed 1 if the contexts support it, 0 if they do not. Keep every sentence,
in order.

Reply with one JSON object and nothing else, one item per sentence of the reference:
{"attributions": [{"statement": "<sentence>", "reason": "<one sentence>",
  "attributed": 0 or 1}, ...]}

Example input:
<question>What can you tell me about Albert Einstein?</question>
<context>Albert Einstein (14 March 1879 - 18 April 1955) was a German-born theoretical
physicist. He received the 1921 Nobel Prize in Physics.</context>
<reference>Albert Einstein was born on 14 March 1879. He won the Nobel Prize in 1921. He
published four papers in 1905.</reference>
Example reply:
{"attributions": [
 {"statement": "Albert Einstein was born on 14 March 1879.", "reason": "Dated in the context.",
  "attributed": 1},
 {"statement": "He won the Nobel Prize in 1921.", "reason": "Stated in the context.",
  "attributed": 1},
 {"statement": "He published four papers in 1905.", "reason": "Not in the context.",
  "attributed": 0}]}"""

ANSWER_CORRECTNESS_STATEMENTS = """[rex:answer_correctness:statements]
You break texts into statements. Given a question, an answer and a reference answer, list the
standalone factual statements each of them makes. Replace pronouns with the entities they
refer to; add nothing the text does not say.

Reply with one JSON object and nothing else:
{"answer_statements": ["<statement>", ...], "reference_statements": ["<statement>", ...]}

Example input:
<question>What powers the sun?</question>
<answer>The sun is powered by nuclear fission. It is very hot.</answer>
<reference>The sun is powered by nuclear fusion.</reference>
Example reply:
{"answer_statements": ["The sun is powered by nuclear fission.", "The sun is very hot."],
 "reference_statements": ["The sun is powered by nuclear fusion."]}"""

ANSWER_CORRECTNESS_CLASSIFY = """[rex:answer_correctness:classify]
You compare an answer with a reference answer, statement by statement. Sort the statements
into three lists:
- "TP" (true positive): answer statements that the reference supports;
- "FP" (false positive): answer statements that the reference does not support;
- "FN" (false negative): reference statements that no answer statement covers.
Every answer statement goes to TP or FP, every uncovered reference statement to FN.

Reply with one JSON object and nothing else:
{"TP": [{"statement": "<statement>", "reason": "<one sentence>"}, ...],
 "FP": [{"statement": "<statement>", "reason": "<one sentence>"}, ...],
 "FN": [{"statement": "<statement>", "reason": "<one sentence>"}, ...]}

Example input:
<question>What powers the sun?</question>
<answer_statements>["The sun is powered by nuclear fission.", "The sun is very hot."]
</answer_statements>
<reference_statements>["The sun is powered by nuclear fusion."]</reference_statements>
Example reply:
{"TP": [],
 "FP": [{"statement": "The sun is powered by nuclear fission.", "reason": "It says fusion."},
  {"statement": "The sun is very hot.", "reason": "The reference does not say so."}],
 "FN": [{"statement": "The sun is powered by nuclear fusion.", "reason": "Not covered."}]}"""
