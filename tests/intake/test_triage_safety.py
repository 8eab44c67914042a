"""Triage safety: greetings never decide, an emergency cue wins over "prank", negation,
implied incidents, Urdu / Roman Urdu, honest uncertainty, and a priority that never drops over a
growing transcript. Sentences are written here, not taken from the training corpus."""

from __future__ import annotations

import pytest

from dispatch.intake.corpus import load_corpus
from dispatch.intake.safety import danger_cues, life_threats, prepare, strip_fillers
from dispatch.intake.service import LiveTriage, default_triage
from dispatch.intake.text import normalize

PRIORITY_ORDER = ("P1", "P2", "P3", "P4")


@pytest.fixture(scope="module")
def engine():
    return default_triage()


def test_the_issue_example_is_a_fire_not_a_prank(engine) -> None:
    result = engine("hello hello sir there is a fire in my house")
    assert result.incident_type == "fire"
    assert result.priority == "P1"
    assert not result.uncertain


@pytest.mark.parametrize("greeting", [
    "hello hello", "hello hello hello sir", "assalam o alaikum sir", "ji sir", "haan ji hello",
    "ہیلو ہیلو", "السلام علیکم", "hello? hello? can you hear me",
])
def test_greetings_alone_are_uncertain_never_a_confident_prank(engine, greeting: str) -> None:
    result = engine(greeting)
    assert result.uncertain
    assert result.incident_type != "prank_non_emergency"
    assert result.confidence < 0.5
    assert len(result.candidates) == 3


@pytest.mark.parametrize(("opening", "expected"), [
    ("hello hello sir, hello, there is smoke everywhere in the flat upstairs", "fire"),
    ("hello hello testing testing, my brother has been shot near the bazaar",
     "firing_shooting"),
    ("sorry sir wrong number, no wait, a car has hit my son outside", "road_traffic_accident"),
    ("haha hello, bhai mazaq nahi hai, ghar mein aag lagi hai", "fire"),
    ("ہیلو ہیلو سر، ہمارے گھر میں ڈاکو گھس آئے ہیں", "robbery_snatching"),
    ("just kidding... no actually someone is beating my mother", None),
])
def test_an_emergency_cue_anywhere_beats_prank_cues(engine, opening: str,
                                                    expected: str | None) -> None:
    result = engine(opening)
    assert result.incident_type != "prank_non_emergency"
    assert result.priority != "P4"
    if expected:
        assert result.incident_type == expected, result.candidates


@pytest.mark.parametrize("prank", [
    "sorry, my little son was playing with the phone, nothing happened",
    "bas mazaq kar raha tha yaar",
    "oops wrong number",
    "meri light chali gayi hai, lesco walon ko bolo theek karein",
    "my internet is not working since yesterday, can you fix it",
    "can you play a song for my wife on the radio",
    "bas time kya hua hai woh poochna tha",
])
def test_real_pranks_are_still_recognised(engine, prank: str) -> None:
    result = engine(prank)
    assert result.incident_type == "prank_non_emergency"
    assert result.priority == "P4"


def test_a_danger_cue_still_wins_over_a_non_police_request(engine) -> None:
    result = engine("light chali gayi aur andhere mein ghar mein chor ghus aaye hain")
    assert result.incident_type != "prank_non_emergency"
    assert result.priority != "P4"


@pytest.mark.parametrize(("sentence", "expected"), [
    ("two boys on a bike took my phone", "robbery_snatching"),
    ("a man came out of nowhere and grabbed the chain off my neck", "robbery_snatching"),
    ("my grandfather is lying on the floor and won't wake up", "medical_emergency"),
    ("we came back and the almirah was empty and the window was open", "burglary"),
    ("my seven year old hasn't come back from the shop two hours ago", None),
    ("the man next door keeps slapping his wife, she is crying", "domestic_violence"),
])
def test_implied_incidents(engine, sentence: str, expected: str | None) -> None:
    result = engine(sentence)
    if expected is None:  # a child not back: kidnapping/missing, and P1 either way
        assert result.incident_type == "kidnapping_missing_person", result.candidates
        assert result.priority == "P1"
    else:
        assert result.incident_type == expected, result.candidates


def test_negation_does_not_raise_priority(engine) -> None:
    hurt = engine("two cars collided at the chowk and people are injured")
    fine = engine("two cars collided at the chowk, nobody is hurt")
    roman = engine("do gariyon ki takkar hui hai koi zakhmi nahi hua")
    assert {hurt.incident_type, fine.incident_type, roman.incident_type} == {
        "road_traffic_accident"}
    assert hurt.priority == "P1"
    assert fine.priority == "P2" and roman.priority == "P2"
    assert not any("injured" in r for r in fine.priority_reasons)


def test_negated_cues_are_not_cues() -> None:
    assert danger_cues("there is no fire, nobody is hurt") == []
    assert danger_cues("koi zakhmi nahi hua") == []
    assert "fire" in danger_cues("nobody is hurt but there is a fire")
    assert "not breathing" in life_threats("he is not breathing")


@pytest.mark.parametrize("spelling", ["nahi", "nai", "nhi", "nahin", "nahee"])
def test_every_roman_spelling_of_nahi_meets_the_cues(spelling: str) -> None:
    assert life_threats(f"abba ji saans {spelling} le rahe") == ["saans nahi"]
    assert life_threats(f"koi zakhmi {spelling} hua") == []  # and still negates
    assert prepare("us ny maara") == "us ny maara"  # "ny" is "ne" (ergative), left alone


def test_punjabi_verb_endings_meet_the_cues() -> None:
    assert life_threats("saada kamra jal reya ay") == ["jal raha"]
    assert life_threats("chacha mar gya") == ["mar gaya"]
    assert life_threats("ammi malbe hethan dab gyi ne") == ["dab gayi"]


def test_a_negator_does_not_reach_into_the_next_clause() -> None:
    """A recogniser writes no commas: "not" before a new subject negates nothing after it."""
    assert "lips are blue" in life_threats("he is not uh his lips are blue")
    assert "unconscious" in life_threats("the driver is not okay he unconscious")
    assert life_threats("he is not bleeding heavily") == []
    assert life_threats("nobody has been stabbed") == []
    assert "saans nahi" in life_threats("abbu ki saans nahi aa rahi")


def test_fillers_are_stripped_but_content_kept() -> None:
    assert strip_fillers("Hello hello SIR, assalam o alaikum") == ""
    assert strip_fillers("hello sir aag lagi hai") == "aag lagi hai"


@pytest.mark.parametrize(("sentence", "expected"), [
    ("ہمارے محلے میں ایک گودام جل رہا ہے اور دھواں بھر گیا ہے", "fire"),
    ("میرے چچا کو سڑک پار کرتے ہوئے ایک گاڑی نے ٹکر مار دی", "road_traffic_accident"),
    ("mere chachu ko road cross karte hue gaari ne thok diya", "road_traffic_accident"),
    ("meri behn ka purse do motorsycle walon ne chin liya", "robbery_snatching"),
    ("bhai jaan hamari gali me goliya chal rhi hen", "firing_shooting"),
    ("ammi ki tabiyat achanak bigar gayi hai woh hosh mein nahi hain", "medical_emergency"),
    ("sir ji hamare mohalle me ek bacha subha se gum hai", "kidnapping_missing_person"),
    ("میرا شوہر مجھے اور بچوں کو مار رہا ہے", "domestic_violence"),
    ("sir market mein ek laawaris bag para hua hai", "terrorism_bomb_threat"),
])
def test_urdu_and_roman_urdu_spelling_variants(engine, sentence: str, expected: str) -> None:
    assert engine(sentence).incident_type == expected, engine(sentence).candidates


@pytest.mark.parametrize("sentence", [
    "my father is not breathing", "abbu ko dil ka daura para hai", "میرے بیٹے نے زہر پی لیا ہے",
    "there's a man with a gun in the shop", "he says he will kill me",
    "my dad isnt breathing", "my husband just collapsed", "she's unresponsive on the floor",
    "he is gasping and his lips look grey",
])
def test_life_threat_words_make_it_p1(engine, sentence: str) -> None:
    result = engine(sentence)
    assert result.priority == "P1", (result.incident_type, result.priority_reasons)


@pytest.mark.parametrize("sentence", [
    "a bus hit a car at kalma chowk, two people are stuck inside", "my neighbour is lifeless",
    "accident hua hai log gaari ke andar phanse hue hain", "ammi jawab nahi de rahin",
    "abba ji di saah rukdi pai ae", "larkon ne chhuriyan nikal li hain",
    "he has his hands around her throat, he is strangling her", "نبض بہت کمزور ہے",
    "the van flipped and the driver is still in it", "a man is stuck under the lorry",
    "dumper ne rickshaw wale ko kuchal diya", "he is having fits and foaming at the mouth",
    "please hurry, i am hiding in the kitchen and he is breaking the door",
    "truck overturned on the ring road, the driver is stuck inside the cabin",
    "my father's lips have gone blue and he is not speaking",
    "ammi ki chhati mein dard hai aur pasina aa raha hai", "ایک بچہ نہر میں گر گیا ہے",
    "a boy slipped into the canal near the bridge",
    "us ne meri behan par mitti ka tel daal diya hai", "woh keh raha hai aaj sab nu maar dena",
    "دادی صبح سے نہیں اٹھ رہیں",
])
def test_how_callers_describe_a_life_at_risk_makes_it_p1(engine, sentence: str) -> None:
    result = engine(sentence)
    assert result.priority == "P1", (result.incident_type, result.priority_reasons)


def test_every_cue_with_a_traffic_exception_is_a_life_threat_cue() -> None:
    """An exception for a cue that is not a life-threat cue would silently do nothing."""
    from dispatch.intake.safety import LIFE_THREAT_CUES, SAID_OF_TRAFFIC, prepare

    assert set(SAID_OF_TRAFFIC) <= {prepare(c) for c in LIFE_THREAT_CUES}


@pytest.mark.parametrize(("sentence", "jam"), [
    ("traffic is not moving at all on canal road since an hour", True),
    ("the signal is not working and the cars are not moving", True),
    ("gaari khari hai traffic hil nahi rahi", True),
    ("hum do ghante se traffic mein phanse hue hain", True),
    ("a car hit him and he is not moving", False),
    ("i have pinned the location on whatsapp, the road is blocked", True),
    ("malbe ka dher sarak pe para hai, rasta band hai", True),
])
def test_what_is_said_of_the_road_is_no_life_at_risk(engine, sentence: str, jam: bool) -> None:
    """"Not moving" said of a person is P1; said of the traffic it is a jam, and a pinned
    location or rubble on the road is no one trapped: none may take a P1 unit from a real
    emergency."""
    result = engine(sentence)
    assert (result.priority != "P1") == jam, (result.incident_type, result.priority_reasons)


@pytest.mark.parametrize("transcript", [
    "hello sir hello, yahan aik aadmi ne pistol nikala hai, lekin abhi koi zakhmi nahi, "
    "wo dukan ke andar hai aur paise maang raha hai, hum sab bahar khade hain",
    "hello? yes. there was a small accident at the signal. actually the driver is not moving "
    "now. wait, he is moving, he says he is fine, nobody is hurt really, it's just a dent",
    "assalam o alaikum, meri beti school se abhi tak nahi aayi, oh wait, no, her friend says "
    "she went to her aunt's house, we are checking",
])
def test_priority_never_drops_over_a_growing_transcript(transcript: str) -> None:
    live = LiveTriage()
    words = transcript.split(" ")
    shown = []
    for n in range(1, len(words) + 1):
        result, _ = live.update(" ".join(words[:n]), final=False)
        if result is not None and result.confidence > 0:
            shown.append(PRIORITY_ORDER.index(result.priority))
    assert shown, "no suggestion at all"
    assert all(later <= earlier for earlier, later in zip(shown, shown[1:], strict=False)), shown


def test_only_a_person_lowers_the_priority() -> None:
    live = LiveTriage()
    result, _ = live.update("there is a man with a gun outside", final=True)
    assert result is not None and result.priority == "P1"
    live.set_priority("P3")
    result, _ = live.update("he has put it away and left", final=True)
    assert result is not None and result.priority == "P3"
    assert any("call-taker" in r for r in result.priority_reasons)
    with pytest.raises(ValueError, match="unknown priority"):
        live.set_priority("P9")


def test_uncertain_answers_list_three_candidates_and_are_less_often_right(engine) -> None:
    vague = engine("sir please come, there is a problem with the people next door")
    assert vague.uncertain
    assert len(vague.candidates) == 3
    assert vague.confidence < 0.5


def test_sentences_here_are_not_in_the_training_corpus() -> None:
    corpus = {normalize(e.text) for e in load_corpus()}
    import inspect
    import sys

    source = normalize(inspect.getsource(sys.modules[__name__]))
    assert not [text for text in corpus if len(text) > 25 and f'"{text}"' in source]


@pytest.mark.parametrize("sentence", [
    "ok so i'm not sure what to say really", "can i talk to someone about something",
    "yaar kuch samajh nahi aa raha kya bataun", "میں بس پوچھنا چاہ رہا تھا",
])
def test_an_unsure_prank_is_never_the_first_guess(engine, sentence: str) -> None:
    """Vague words may look most like a prank to the model; unsure, triage leads with the next
    type and keeps prank among the candidates for the call-taker."""
    result = engine(sentence)
    if result.uncertain:
        assert result.incident_type != "prank_non_emergency", result.candidates
    else:
        assert result.confidence >= 0.5


# Session 11, from openings by writers who never saw the corpus (tests/data/triage, dev 3 and 4);
# the sentences below are written here.
@pytest.mark.parametrize("pocket_dial", [
    "oh sorry, I rang you by accident, the phone was in my bag, we're all fine",
    "i accidentally called this number, my mistake, nothing is wrong",
])
def test_a_call_made_by_accident_is_not_a_road_accident(engine, pocket_dial: str) -> None:
    """Before, "by accident" was the danger cue "accident": a road accident, P2, 0.95."""
    assert not danger_cues(pocket_dial)
    result = engine(pocket_dial)
    assert result.incident_type == "prank_non_emergency", result.candidates
    assert engine("there has been an accident at the flyover").incident_type == (
        "road_traffic_accident")


@pytest.mark.parametrize(("opening", "expected_type"), [
    ("I'm hiding in the bathroom, someone broke the back window and is walking around downstairs",
     "burglary"),
    ("im hiding under the bed my stepdad is smashing the doors", None),
    ("mein chhat pe luk ke phone kar rahi aan, bande ghar vich vad aaye ne", None),
])
def test_a_caller_hiding_from_someone_is_a_life_at_risk(engine, opening: str,
                                                       expected_type: str | None) -> None:
    assert life_threats(opening), prepare(opening)
    result = engine(opening)
    assert result.priority == "P1", result.priority_reasons
    if expected_type:
        assert result.incident_type == expected_type, result.candidates


def test_contractions_do_not_hide_that_it_is_happening_now(engine) -> None:
    """"He's punching her" was read as the past: the happening-now raise was missed."""
    assert prepare("He's punching her, they're in the hallway") == (
        "he is punching her they are in the hallway")
    result = engine("my neighbour's husband, he's punching her in the hallway")
    assert result.incident_type == "domestic_violence", result.candidates
    assert any("happening now" in reason for reason in result.priority_reasons)


@pytest.mark.parametrize(("opening", "expected"), [
    ("Shahdara wich fire di awaaz aayi ae, do vaari", "firing_shooting"),
    ("ghar ke bahar fire ki awaz ayi hai abhi", "firing_shooting"),
    ("ghar ki kitchen mein fire lag gayi hai", "fire"),
    ("a guy with a gun is holding up the pharmacy, he made them empty the till",
     "robbery_snatching"),
    ("two men just forced a girl into the trunk of a grey car on Jail Road",
     "kidnapping_missing_person"),
])
def test_what_the_words_mean_in_context(engine, opening: str, expected: str) -> None:
    result = engine(opening)
    assert result.incident_type == expected, result.candidates


def test_bangs_the_caller_is_unsure_of_are_never_dismissed(engine) -> None:
    result = engine("not sure, maybe fireworks, but there were four loud bangs behind the mosque")
    assert result.priority != "P4", result.priority_reasons


@pytest.mark.parametrize("chatter", [
    "bhai aaj match ka score kya hai, humari cable band hai",
    "sir kal barish hogi kya, shadi pe jana hai",
    "Is this Domino's? I want to order a pizza",
])
def test_idle_questions_are_not_emergencies(engine, chatter: str) -> None:
    result = engine(chatter)
    assert result.incident_type == "prank_non_emergency", result.candidates
    assert result.priority == "P4"


@pytest.mark.parametrize(("opening", "expected"), [
    ("kids in our lane are firing crackers since maghrib, nobody can sleep", "noise_nuisance"),
    ("the baraat band has been beating drums outside since eleven", "noise_nuisance"),
    ("ek banda larke ko sharp weapon se zakhmi kar ke bhaag gaya", "assault_fight"),
    ("Samanabad mein do bandon ki haath pai ho gayi hai, log ikathay ho gaye", "assault_fight"),
    ("ek aadmi ne chaqu dikha ke kaha jo kuch hai de do, 20 hazar le gaya", "robbery_snatching"),
    ("Township mein gali ke kone pe do larke roz raat nasha bechte hain", "suspicious_activity"),
    ("bhai aaj Mall Road band hai kya, konsa rasta khula hai Data Darbar ke liye",
     "information_request"),
])
def test_how_lahore_callers_put_it(engine, opening: str, expected: str) -> None:
    """Session 12's reading of a Roman-heavy set: these were fire/firing, road accidents,
    assault and a jam."""
    result = engine(opening)
    assert result.incident_type == expected, result.candidates


@pytest.mark.parametrize("opening", [
    "Multan Road pe ek motorcycle wala bus ke neechay aa gaya ae",
    "Ring Road te gaddi ulti pai ae, ander banda phasya hoya ae",
    "بند روڈ پر حادثہ ہوا، لڑکا سڑک پر پڑا ہے",
    "mere bhai ne keeray maar dawai pee li, munh se jhaag aa rahi hai",
    "a bike went down at the roundabout, the rider is on the ground and can't feel his legs",
    "a man attacked the bus driver and she's slumped over the wheel",
    "my dad is drunk and throwing things at my mom, i'm in my room hiding",
    "my husband is diabetic and his sugar is really low, he's confused and sweating",
    "barish ke baad bijli ki taar gir gayi hai gali mein, bachay khel rahe hain",
])
def test_a_life_at_risk_as_punjabi_and_urdu_callers_describe_it(engine, opening: str) -> None:
    assert life_threats(opening), prepare(opening)
    assert engine(opening).priority == "P1"


@pytest.mark.parametrize("blockage", [
    "malbe ka dher sarak pe para hai",
    "a motorcycle was thrown and the branches are on the ground all over the lane",
])
def test_things_lying_in_the_road_are_a_blockage_not_a_person_down(blockage: str) -> None:
    assert not life_threats(blockage)
    assert life_threats("motorcycle se gir ke ek larka sarak pe para hai")


def test_firecrackers_are_neither_a_fire_nor_gunfire() -> None:
    assert not life_threats("they are firing crackers in the street again")
    assert not life_threats("fire-crackers all night in Gulberg")
    # only the compound: "not crackers, firing" keeps its firing
    assert life_threats("crackers nahi thay, firing thi")
