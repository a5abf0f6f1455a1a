"""Workshop mode: a segmentation course that generates its own exercises and checks the answers.

``portfolio workshop new --out DIR`` gives every student their own dirty portfolio (so answers
cannot be copied), a config and exercise notebooks in English or French; the answer keys, the
generator's truth and a solution notebook per exercise go to ``DIR/teacher`` only.
``check()`` at the end of each notebook (and ``portfolio workshop check DIR/student_01``)
scores the answers with a stated tolerance and targeted feedback; ``portfolio workshop grades
DIR`` writes one grade sheet.

Modules: :mod:`~.registry` (what an exercise is; add one with ``register``), :mod:`~.exercises`
(the six exercises and their keys), :mod:`~.keys` (the kit's analyses a key comes from),
:mod:`~.texts` (English and French texts), :mod:`~.build` (folders and notebooks),
:mod:`~.grading` (the checker).

Why not nbgrader
----------------
nbgrader grades notebooks by running hidden test cells against answers fixed in the source
notebook: one answer key for the whole class, an exchange directory and a database to manage,
and its feedback is an assertion message. Here every student has a different data set, so the
key is per student and computed when the workshop is created; the useful feedback depends on
which *wrong* value was given (exact duplicates only, cancelled lines counted...), and the
segmentation answer is judged by an adjusted Rand index against hidden data. That is a few
hundred lines over JSON keys, with no extra dependency, no server and no database; students
check themselves from the notebook as often as they like.
"""

from portfolio_helpers.app.workshop import exercises as exercises  # registers the exercises
from portfolio_helpers.app.workshop import registry as registry
from portfolio_helpers.app.workshop.build import guessable_seed, new_workshop
from portfolio_helpers.app.workshop.exercises import BASELINE_CARD
from portfolio_helpers.app.workshop.grading import check, check_student, collect_grades

__all__ = ["BASELINE_CARD", "check", "check_student", "collect_grades", "guessable_seed", "new_workshop"]
