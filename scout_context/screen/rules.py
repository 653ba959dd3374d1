"""The rules screener: phrases that address the model reading a source, and hidden text.

Always offline and fast (regular expressions over each chunk). Four families of phrases,
each in English, German, French, Spanish, Italian, Portuguese, Dutch, Russian, Chinese and
Japanese: orders to ignore or forget earlier instructions; text addressed to an AI,
assistant or model (and orders to tell the user something is safe); role-play openers
("you are now", "from now on you"); requests for the system prompt, secrets or
credentials. Phrases are matched after NFKC folding with zero-width characters removed, so
full-width letters and split words match too. Hidden text is matched as written: bidi
controls, Unicode tag characters, zero-width characters inside a word, and HTML comments
that speak to a model.

The rules are tuned to leave ordinary code and documentation alone (see
`bench/screen_bench.py` for the rates); a sentence that merely talks about prompt
injection can match, and an attack phrased in none of these ways does not.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..workers import worker_map
from . import base
from .base import Finding, shown_line

_IN_SENTENCE = r"(?:[^.!?。\n]|[.!?](?=\S))"  # a stop followed by a space or a line end ends a sentence
_GAP = _IN_SENTENCE + "{0,40}?"  # a few words within one sentence
_SHORT = _IN_SENTENCE + "{0,20}?"

# German, French, Spanish, Italian, Portuguese, Dutch, Russian: the verbs that dismiss
# instructions and the words for them; the verbs that ask to be shown or sent something and
# the secrets asked for. Each pair matches a few words apart within one sentence.
_LANGUAGES = {
    "de": (
        r"ignorier\w*|vergiss|vergessen\s+sie|missachte\w*",
        r"Anweisungen|Instruktionen|Befehle|Regeln|Vorgaben",
        r"zeig\w*|gib|verrate\w*|nenne\w*",
        r"System-?prompt|Systemanweisung\w*|Passw(?:o|ö)rter|API-Schlüssel|Zugangsdaten",
    ),
    "fr": (
        r"ignore[zrs]?|oublie[zrs]?|néglige[zr]?",
        r"instructions|consignes|directives|règles",
        r"révèle\w*|affiche\w*|donne\w*|montre\w*",
        r"prompt\s+système|invite\s+système|mots\s+de\s+passe|clés?\s+API|identifiants",
    ),
    "es": (
        r"ignora[r]?|ignore[n]?|olvida[r]?|olvide|descarta",
        r"instrucciones|indicaciones|órdenes|reglas|directrices",
        r"revela\w*|muestra\w*|dame|imprime\w*",
        r"prompt\s+del\s+sistema|contraseñas|claves?\s+de\s+(?:la\s+)?API|credenciales",
    ),
    "it": (
        r"ignora(?:re)?|dimentica(?:re)?|trascura",
        r"istruzioni|indicazioni|regole|direttive",
        r"rivela\w*|mostra\w*|stampa\w*|dammi",
        r"prompt\s+di\s+sistema|chiavi?\s+API|credenziali",
    ),
    "pt": (
        r"ignore|ignora|esqueça|esqueca|desconsidere",
        r"instruções|instrucoes|orientações|regras|diretrizes",
        r"revele\w*|mostre\w*|imprima\w*|me\s+dê",
        r"prompt\s+do\s+sistema|senhas|chaves?\s+de\s+API|credenciais",
    ),
    "nl": (
        r"negeer|vergeet",
        r"instructies|aanwijzingen|regels|opdrachten",
        r"toon\w*|geef\w*|onthul\w*",
        r"systeemprompt|wachtwoorden|API-sleutels?|inloggegevens",
    ),
    "ru": (
        r"игнорируй\w*|проигнорируй\w*|забудь\w*|не\s+обращай\w*\s+внимани\w*",
        r"инструкци\w*|указани\w*|правил\w*",
        r"покажи\w*|выведи\w*|раскрой\w*|отправь\w*|дай",
        r"системн\w*\s+(?:промпт|подсказк\w*|инструкци\w*)|парол\w*|API[- ]ключ\w*|уч[её]тн\w*\s+данн\w*",
    ),
}


def _near(first: str, second: str) -> str:
    """Words of `first`, then words of `second` a few words later in the same sentence."""
    return rf"\b(?:{first})\b{_GAP}\b(?:{second})\b"


_OVERRIDE = [
    # en (and the French, Portuguese "ignore" with an English noun is the same phrase)
    r"\b(?:ignore|disregard|forget|override|bypass|abandon|discard|overrule)\b"
    + _GAP
    + r"\b(?:previous|prior|above|earlier|preceding|former|original|initial|existing|all|any|your|system|other)\b"
    + _SHORT
    + r"\b(?:instructions?|directives?|guidelines|rules|guardrails|orders|programming|constraints)\b",
    # "prompt" is also a command line's question: only with a word that places it before
    r"\b(?:ignore|disregard|forget|override)\b"
    + _GAP
    + r"\b(?:previous|prior|above|earlier|preceding|original|initial|system)\s+prompts?\b",
    r"\b(?:disregard|forget|ignore)\s+(?:everything|all)\s+(?:(?:that\s+)?(?:you\s+were|you've\s+been|above|before|prior))",
    r"\b(?:disregard|forget)\s+(?:everything\s+|all\s+(?:of\s+)?)?(?:the\s+)?(?:above|foregoing)\b",
    *(_near(dismiss, instructions) for dismiss, instructions, _, _ in _LANGUAGES.values()),
    r"(?:忽略|无视|忽视|忘记|忘掉|不要理会|忽略掉)[^。\n]{0,20}?(?:指令|指示|说明|提示|规则|要求)",
    r"(?:指示|命令|ルール|プロンプト)[^。\n]{0,12}?(?:無視|忘れ)",
]
_AI = r"(?:AI|A\.I\.|LLMs?|language\s+models?|AI\s+models?|assistants?|chatbots?|ChatGPT|GPT|Claude|Copilot|Gemini|Llama|agents?|bots?)"
_ADDRESSED = [
    r"\b(?:note|notes|message|attention|instructions?|notice|hey|dear|important|reminder|memo)\s*(?:to|for)\s+(?:all\s+|any\s+|the\s+)?"
    r"(?:AI\s+)?" + _AI + r"\s*[:,!—–-]",
    r"\bif\s+you\s+are\s+(?:an?\s+|the\s+)?(?:AI|LLM|language\s+model|large\s+language\s+model|assistant|chatbot|bot|GPT)\b",
    r"\b(?:AI|LLM)\s+(?:assistants?|agents?|models?|reviewers?|systems?|tools?)\b"
    + _SHORT
    + r"\b(?:must|should|shall|are\s+instructed|need\s+to|have\s+to|are\s+required)\b",
    r"\bas\s+an?\s+(?:AI|LLM|language\s+model|assistant)\b" + _SHORT + r"\byou\s+(?:must|should|will|shall)\b",
    r"\btell\s+(?:the\s+)?(?:user|reviewer|human|developer)s?\b"
    + _GAP
    + r"\b(?:is|are)\s+(?:safe|secure|fine|trusted|approved|harmless|clean)\b",
    r"\b(?:approve|merge|mark)\b"
    + _SHORT
    + r"\b(?:this|the)\s+(?:PR|pull\s+request|change|commit|code|package)\b"
    + _SHORT
    + r"\b(?:as\s+safe|without\s+(?:review|checking|comment)|immediately)\b",
    r"\b(?:do\s+not|don't|never)\s+(?:mention|report|flag|reveal|tell)\b"
    + _GAP
    + r"\b(?:this\s+(?:comment|note|instruction|message|sentence)|these\s+instructions)\b",
    r"(?:\ban|\bfür)\s+(?:die\s+|den\s+|alle\s+)?(?:KI|KI-Assistent\w*|Sprachmodell\w*|LLM)\s*[:,!]|\bwenn\s+du\s+eine\s+KI\s+bist\b",
    (
        r"(?:\bà|\bpour)\s+(?:l['’]\s*|les\s+)?(?:IA|assistants?\s+IA|intelligence\s+artificielle|modèles?\s+de\s+langage)\s*[:,!]"
        r"|\bsi\s+(?:tu\s+es|vous\s+êtes)\s+une?\s+(?:IA|intelligence\s+artificielle|assistant)\b"
    ),
    r"\b(?:para|a)\s+(?:la\s+|el\s+|los\s+)?(?:IA|asistentes?\s+de\s+IA|modelos?\s+de\s+lenguaje)\s*[:,!]|\bsi\s+eres\s+una?\s+(?:IA|asistente)\b",
    r"(?:\ball['’]\s*|\bper\s+l['’]\s*|\bagli\s+)(?:IA|assistent[ei])\s*[:,!]|\bse\s+sei\s+un['’]?\s*(?:IA|assistente)\b",
    r"(?:\bpara\s+a|\bà|\bao)\s+(?:IA|assistente\s+de\s+IA|modelo\s+de\s+linguagem)\s*[:,!]|\bse\s+(?:você|voce)\s+(?:é|e)\s+uma?\s+(?:IA|assistente)\b",
    r"\b(?:aan|voor)\s+(?:de\s+|alle\s+)?(?:AI|AI-assistent\w*|taalmodel\w*)\s*[:,!]|\bals\s+je\s+een\s+(?:AI|taalmodel)\s+bent\b",
    r"(?:\bдля|\bк)\s+(?:ИИ|нейросет\w*|языков\w+\s+модел\w*|ассистент\w*)\s*[:,!]|\bесли\s+ты\s+(?:ИИ|нейросеть|языковая\s+модель)\b",
    r"(?:致|给)(?:所有)?(?:AI|人工智能|大模型|语言模型|助手)[:：,，]|如果你是(?:一个)?(?:AI|人工智能|语言模型|大模型)",
    r"(?:AI|人工知能|アシスタント|言語モデル)(?:への|に|へ)(?:注意|指示|メッセージ|お願い)|あなたが(?:AI|人工知能)(?:なら|であれば)",
]
_ROLE_PLAY = [
    r"\byou\s+are\s+now\b"
    + _SHORT
    + r"(?:\bDAN\b|\bunrestricted\b|\bunfiltered\b|\bjailbroken\b|\bin\s+(?:developer|debug|god|admin)\s+mode\b|\bno\s+longer\b"
    + r"|\ban?\s+(?:AI|assistant|hacker|different|new|evil|rogue)\b)",
    r"\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|shall|should|only|respond|answer|act|ignore)\b",
    (
        r"\b(?:pretend|imagine)\s+(?:that\s+)?(?:you\s+(?:are|were)|to\s+be)\s+(?:an?\s+)?"
        r"(?:unrestricted|unfiltered|jailbroken|evil|rogue|DAN|AI|assistant|hacker|different|my)\b"
    ),
    r"\bact\s+as\s+(?:an?\s+)?(?:DAN|unrestricted|unfiltered|jailbroken|evil|rogue)\b",
    r"\b(?:enter|enable|activate|switch\s+to)\s+(?:developer|DAN|god|jailbreak|unrestricted)\s+mode\b",
    r"\byou\s+are\s+no\s+longer\s+(?:an?\s+|bound|restricted|required)",
    r"\bnew\s+(?:system\s+)?instructions\s*:",
    r"\b(?:du\s+bist\s+(?:jetzt|ab\s+jetzt|nun|ab\s+sofort)|ab\s+(?:jetzt|sofort)\s+bist\s+du)\s+(?:ein|eine|DAN|im|kein)\b",
    r"\b(?:tu\s+es|vous\s+êtes)\s+(?:maintenant|désormais)\s+(?:un|une|DAN|en)\b|\bà\s+partir\s+de\s+maintenant,?\s+(?:tu|vous)\b",
    r"\b(?:ahora|a\s+partir\s+de\s+ahora)\s+eres\b|\bdesde\s+ahora,?\s+(?:eres|vas\s+a|debes)\b",
    r"\b(?:ora|adesso|da\s+ora\s+in\s+poi)\s+sei\s+(?:un|una|DAN)\b",
    r"\b(?:agora|a\s+partir\s+de\s+agora),?\s+(?:você\s+é|voce\s+e|tu\s+és)\b",
    r"\bje\s+bent\s+(?:nu|vanaf\s+nu)\s+(?:een|DAN)\b|\bvanaf\s+nu\s+ben\s+je\b",
    r"\b(?:теперь|отныне)\s+ты\b",
    r"你现在是|从现在(?:开始|起)[,，]?\s*你",
    r"あなたは今から|今からあなたは|これからあなたは",
]
_SECRETS = [
    (
        r"\b(?:reveal|print|output|show|display|repeat|leak|disclose|dump|send|exfiltrate|post|upload|share|tell\s+me|give\s+me)\b"
        r"[^.!?\n]{0,30}?\b(?:your|the)\s+(?:(?:full|complete|entire|original|initial|hidden|secret)\s+)?"
        r"(?:system\s+prompt|system\s+message|initial\s+instructions|hidden\s+instructions|instructions\s+above|prompt\s+above)\b"
    ),
    r"\b(?:send|exfiltrate|post|upload|leak|forward|email|transmit|include|append|paste)\b"
    + _GAP
    + r"(?:\b(?:api[ _-]?keys?|credentials|secrets|passwords?|private\s+keys?|access\s+tokens?|auth\s+tokens?|ssh\s+keys?"
    + r"|env(?:ironment)?\s+variables|session\s+cookies?)\b|\.env\b)"
    + _IN_SENTENCE
    + r"{0,60}?\b(?:to|into|in)\b"
    + _IN_SENTENCE
    + r"{0,30}?"
    + r"(?:https?://|\bwebhook\b|\b(?:your\s+)?(?:answer|response|reply|output|summary|review)\b)",
    *(_near(ask, secrets) for _, _, ask, secrets in _LANGUAGES.values()),
    r"(?:显示|输出|泄露|告诉我|发送|打印)[^。\n]{0,15}(?:系统提示|系统指令|密码|API\s*密钥|密钥|凭据|凭证)",
    r"(?:システムプロンプト|パスワード|APIキー|認証情報)[^。\n]{0,15}?(?:表示|出力|教え|送信|見せ)",
]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    score: float
    pattern: re.Pattern[str]
    folded: bool
    """Matched against the folded text (NFKC, no zero-width characters) rather than as written."""


def _phrases(name: str, score: float, patterns: list[str]) -> Rule:
    return Rule(name, "injection", score, re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE), True)


_UNSORTED = (
    _phrases("ignore-instructions", 0.97, _OVERRIDE),
    _phrases("secrets-request", 0.95, _SECRETS),
    _phrases("addressed-to-ai", 0.9, _ADDRESSED),
    _phrases("role-play", 0.9, _ROLE_PLAY),
    Rule("tag-characters", "hidden text", 0.99, re.compile("[\U000e0000-\U000e007f]"), False),
    Rule("bidi-control", "hidden text", 0.9, re.compile("[\u202a-\u202e\u2066-\u2069]"), False),
    Rule("zero-width", "hidden text", 0.85, re.compile("(?<=[A-Za-z])[\u200b-\u200d\u2060]+(?=[A-Za-z])"), False),
    Rule(
        "html-comment",
        "injection",
        0.9,
        re.compile(
            r"<!--(?:(?!-->).){0,2000}?\b(?:AI|LLM|language\s+model|chatbot|GPT|Claude|Copilot|assistants?)\b(?:(?!-->).)*?-->",
            re.DOTALL | re.IGNORECASE,
        ),
        False,
    ),
)
RULES = tuple(sorted(_UNSORTED, key=lambda rule: -rule.score))
"""In order of score, so the first that matches is a text's finding."""
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\u00ad\ufeff]")


def fold(text: str) -> str:
    """`text` as the phrase rules read it: NFKC (full-width and styled letters become plain
    ones) with zero-width characters and soft hyphens removed."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


@cache
def _code_digest() -> str | None:
    """The rules' identity: a hash of this module and of `base` (which writes a finding), and
    of Python's version and Unicode's (NFKC, `\\w` and what is printable follow them); None
    (findings not kept) when the code cannot be read."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}:{unicodedata.unidata_version}".encode())
    try:
        for module in (__file__, base.__file__):
            digest.update(Path(module).read_bytes())
    except OSError:
        return None
    return "rules:" + digest.hexdigest()


class RulesScreener:
    """`Screener` by the rules above: the highest-scoring rule that matches a text. Many
    texts are screened over worker processes (`workers`), in the same order."""

    name = "rules"

    @property
    def identity(self) -> str | None:
        return _code_digest()

    def screen(self, texts: Sequence[str]) -> list[Finding | None]:
        with worker_map(sum(map(len, texts)), chunksize=64) as run:
            return list(run(screen_one, texts))


def screen_one(text: str) -> Finding | None:
    """The finding of the highest-scoring rule that matches `text`, or None."""
    folded: str | None = None
    for rule in RULES:
        if rule.folded:
            folded = fold(text) if folded is None else folded
        where = folded if rule.folded and folded is not None else text
        found = rule.pattern.search(where)
        if found:
            return Finding(rule.kind, rule.score, shown_line(_line_at(where, found.start())), rule.name)
    return None


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : len(text) if end < 0 else end]
