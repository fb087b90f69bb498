"""The data of pyperformance's bm_pickle workload, rebuilt with the same shapes.

pyperformance pickles five objects: DICT (one user record: a few dozen
str keys with str/int/float/bool/list values), TUPLE (a list of 100 large ints
and an int), DICT_GROUP (three mutated copies of DICT), LIST (10 pairs of
range(10) lists) and MICRO_DICT (100 dicts of 10 None values).  These are our
own values of those shapes, deterministic, so every benchmark here (and the
lead's pickle benchmark) measures the same bytes.

Use ``WORKLOAD`` (list of (name, object) pairs), ``DATASETS`` (name -> object)
or the module constants.
"""

import random

DICT = {
    "account_id": 6082411,
    "active": True,
    "age": 31,
    "avatar_url": "https://img.example.org/u/6082411/avatar-128.png",
    "balance": 1284.75,
    "bio": "Amateur astronomer, weekend cyclist, reads too much science fiction.",
    "city": "Porto Alegre",
    "comment_count": 417,
    "country": "BR",
    "created": "2011-03-14T09:26:53Z",
    "display_name": "Lua N.",
    "email_verified": False,
    "encrypted_id": "q7Lz0PbXw3E",
    "favorite_artists": ["Nina Simone", "Caetano Veloso", "Radiohead", "Os Mutantes",
                         "Bjork", "Gilberto Gil", "Portishead", "Elis Regina"],
    "favorite_genres": ["Jazz", "MPB", "Trip hop"],
    "follower_count": 2093,
    "following_count": 388,
    "gender": "f",
    "has_avatar": True,
    "height_m": 1.68,
    "id": 6082411,
    "karma": 88.125,
    "language": "pt-BR",
    "last_login": 1700000321,
    "latitude": -30.0346,
    "longitude": -51.2177,
    "login_count": 5912,
    "name": "Luana Nascimento",
    "post_count": 251,
    "premium": False,
    "rating": 4.5,
    "referrer": None,
    "relationship": "single",
    "timezone": "America/Sao_Paulo",
    "username": "luanasc",
    "website": "https://luana.example.org/",
    "zip": "90010-000",
}

TUPLE = (
    [281474976710655 - 7919 * i * i for i in range(100)],
    60,
)


def _mutated(record, rnd):
    """A copy of ``record`` with its values shuffled the way user records vary."""
    result = {}
    for key, value in record.items():
        if isinstance(value, bool) or value is None:
            result[key] = rnd.choice([True, False, None])
        elif isinstance(value, int):
            result[key] = rnd.randint(0, 10 ** rnd.randint(1, 9))
        elif isinstance(value, float):
            result[key] = rnd.uniform(-1000.0, 1000.0)
        elif isinstance(value, str):
            chars = list(value)
            rnd.shuffle(chars)
            result[key] = "".join(chars)
        elif isinstance(value, list):
            items = list(value)
            rnd.shuffle(items)
            result[key] = items[: rnd.randint(1, len(items))]
        else:
            result[key] = value
    return result


_rnd = random.Random(5)
DICT_GROUP = [_mutated(DICT, _rnd) for _ in range(3)]

LIST = [[list(range(10)), list(range(10))] for _ in range(10)]

MICRO_DICT = {key: dict.fromkeys(range(10)) for key in range(100)}

DATASETS = {
    "DICT": DICT,
    "TUPLE": TUPLE,
    "DICT_GROUP": DICT_GROUP,
    "LIST": LIST,
    "MICRO_DICT": MICRO_DICT,
}

WORKLOAD = list(DATASETS.items())
