"""Hand-written caller utterances per incident type and language, with a {place} slot.

Each list is ordered; build_examples.py keeps the LAST template of every (type, language) list
for the test split only, so the held-out set measures unseen phrasings, not memorised ones.
Languages: en (English), roman (Roman Urdu), ur (Urdu script), mixed (code-switched).
"""

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "road_traffic_accident": {
        "en": [
            "There has been a bad accident at {place}, a car hit a motorcycle",
            "Two vehicles collided near {place}, people are lying on the road",
            "A bus overturned at {place}, please send help",
            "Hit and run near {place}, the driver ran away after hitting a boy",
            "A truck crashed into a rickshaw at {place} and the driver is trapped",
        ],
        "roman": [
            "{place} ke paas accident ho gaya hai gari ne motorcycle ko takkar maari",
            "bhai {place} par do gariyan takra gayi hain log zakhmi hain",
            "{place} mein wagon ulat gayi hai jaldi ambulance bhejo",
            "{place} ke samne ek car ne bachay ko kuchal diya aur bhaag gaya",
            "{place} wale signal par bus aur rickshaw ki takar hui hai",
        ],
        "ur": [
            "{place} کے پاس حادثہ ہو گیا ہے گاڑی نے موٹر سائیکل کو ٹکر ماری",
            "{place} پر دو گاڑیاں آپس میں ٹکرا گئی ہیں",
            "{place} میں ویگن الٹ گئی ہے لوگ زخمی ہیں",
            "{place} کے سامنے ٹرک اور رکشے کا ایکسیڈنٹ ہوا ہے",
        ],
        "mixed": [
            "{place} par accident hua hai, the car hit a rickshaw, jaldi aayen",
            "Sir {place} ke paas serious accident, two bikes takra gayi hain",
            "Please jaldi, {place} pe gari ulat gayi hai and the driver is stuck",
        ],
    },
    "robbery_snatching": {
        "en": [
            "Two men on a bike snatched my phone at {place}",
            "I was robbed at gunpoint near {place}, they took my wallet",
            "Robbers are looting a shop at {place} right now",
            "Someone snatched a lady's purse outside {place} and ran",
            "Armed dacoits held up the petrol pump at {place}",
        ],
        "roman": [
            "{place} ke paas do larke motorcycle par aaye aur mera mobile cheen kar bhaag gaye",
            "{place} mein dakaiti ho rahi hai daku dukan loot rahe hain",
            "bhai {place} par mera purse chheen liya gaya hai",
            "{place} ke samne pistol dikha kar mera batwa aur phone loot liya",
            "{place} wali gali mein dako ne gari rok kar sab kuch cheena",
        ],
        "ur": [
            "{place} کے پاس دو لڑکوں نے میرا موبائل چھین لیا",
            "{place} میں ڈکیتی ہو رہی ہے ڈاکو دکان لوٹ رہے ہیں",
            "{place} پر اسلحہ دکھا کر میرا پرس چھین لیا گیا",
            "{place} کے سامنے ڈاکوؤں نے گاڑی روک کر سب کچھ لوٹ لیا",
        ],
        "mixed": [
            "Sir {place} par my mobile cheen liya two guys on a bike",
            "{place} mein robbery ho rahi hai, they have pistols, jaldi aayen",
            "Help, {place} ke paas mera purse snatch kar ke bhaag gaye",
        ],
    },
    "burglary": {
        "en": [
            "Someone broke into my house at {place} while we were away",
            "My shop at {place} was broken into last night and goods are stolen",
            "Thieves broke the lock of our house in {place} and took the jewellery",
            "I came home to {place} and found the door broken and things stolen",
            "There was a theft at our godown near {place}, the lock is cut",
        ],
        "roman": [
            "{place} mein hamare ghar mein chori ho gayi hai taala toota hua hai",
            "raat ko {place} wali dukan ka tala tor kar chor saman le gaye",
            "{place} mein ghar mein chor ghus gaye aur zevar chori kar liya",
            "hum shaadi par gaye the {place} wale ghar mein chori ho gayi",
            "{place} ke paas godaam ka taala kaat kar saman chori hua hai",
        ],
        "ur": [
            "{place} میں ہمارے گھر میں چوری ہو گئی ہے تالا ٹوٹا ہوا ہے",
            "رات کو {place} والی دکان کا تالا توڑ کر چور سامان لے گئے",
            "{place} میں گھر میں چور گھس گئے اور زیور لے گئے",
            "{place} کے پاس گودام میں نقب لگا کر چوری ہوئی ہے",
        ],
        "mixed": [
            "Sir {place} mein hamare ghar chori ho gayi, the lock is broken",
            "My shop in {place} ka tala tor diya, chor sab le gaye",
            "{place} wale ghar mein break-in hua hai, jewellery chori ho gayi",
        ],
    },
    "assault_fight": {
        "en": [
            "There is a big fight going on at {place}, men are beating each other",
            "A group attacked my brother with sticks near {place}",
            "Two families are clashing at {place}, someone will get hurt",
            "A mob is beating a man outside {place}",
            "A man with a knife is threatening people at {place}",
            "My neighbour punched me and is attacking us near {place}",
        ],
        "roman": [
            "{place} mein larai ho rahi hai log aik doosre ko maar rahe hain",
            "{place} ke paas mere bhai par dandon se hamla kiya gaya",
            "bhai {place} par do groupon mein jhagra ho gaya hai",
            "{place} ke bahar log aik aadmi ki pitai kar rahe hain",
            "{place} wali gali mein hamsaye se jhagda ho gaya wo maar peet kar raha hai",
        ],
        "ur": [
            "{place} میں لڑائی ہو رہی ہے لوگ ایک دوسرے کو مار رہے ہیں",
            "{place} کے پاس میرے بھائی پر ڈنڈوں سے حملہ کیا گیا",
            "{place} پر دو گروپوں میں جھگڑا ہو گیا ہے",
            "{place} کے باہر لوگ ایک آدمی کو مار پیٹ رہے ہیں",
        ],
        "mixed": [
            "{place} par bahut bari larai ho rahi hai, they are beating each other",
            "Sir {place} ke paas my brother par hamla hua hai with sticks",
            "Please come {place} mein jhagra ho gaya, the mob is attacking a man",
        ],
    },
    "firing_shooting": {
        "en": [
            "Shots were fired at {place}, I heard many gunshots",
            "Someone opened fire on a car near {place}",
            "There is firing going on at {place} right now",
            "A man has been shot near {place}, he is bleeding",
            "A man with a gun is threatening people at {place}",
            "Someone is waving a pistol at the shopkeepers in {place}, he may shoot",
            "People are doing aerial firing at a wedding in {place}",
        ],
        "roman": [
            "{place} mein firing ho rahi hai goliyan chal rahi hain",
            "{place} ke paas kisi ne gari par fire kar diye",
            "bhai {place} par goli chali hai aik banda zakhmi hai",
            "{place} mein shaadi par hawai firing ho rahi hai",
            "{place} mein aik banda bandooq le kar logon ko dhamka raha hai",
            "{place} ke samne do larkon ne goliyan chalayi aur bhaag gaye",
        ],
        "ur": [
            "{place} میں فائرنگ ہو رہی ہے گولیاں چل رہی ہیں",
            "{place} کے پاس کسی نے گاڑی پر فائر کر دیے",
            "{place} پر گولی چلی ہے ایک آدمی زخمی ہے",
            "{place} میں ایک آدمی بندوق سے لوگوں کو دھمکا رہا ہے",
            "{place} میں شادی پر ہوائی فائرنگ ہو رہی ہے",
        ],
        "mixed": [
            "Sir {place} par firing ho rahi hai, I heard gunshots",
            "{place} ke paas someone opened fire, aik banda zakhmi hai",
            "Jaldi aayen {place} mein goliyan chal rahi hain, people are running",
        ],
    },
    "fire": {
        "en": [
            "A house is on fire at {place}, there is smoke everywhere",
            "A shop caught fire near {place} and the flames are spreading",
            "There is a big fire in a factory at {place}",
            "A gas cylinder exploded and started a fire at {place}",
            "The transformer is burning near {place}, flames are high",
        ],
        "roman": [
            "{place} mein ghar ko aag lag gayi hai har taraf dhuan hai",
            "{place} ke paas dukan mein aag lagi hai aur phail rahi hai",
            "bhai {place} par factory mein bahut bari aag lagi hai",
            "{place} mein cylinder phat gaya aur aag lag gayi",
            "{place} ke samne transformer jal raha hai shole nikal rahe hain",
        ],
        "ur": [
            "{place} میں گھر کو آگ لگ گئی ہے ہر طرف دھواں ہے",
            "{place} کے پاس دکان میں آگ لگی ہے اور پھیل رہی ہے",
            "{place} پر فیکٹری میں بہت بڑی آگ لگی ہے",
            "{place} کے سامنے ٹرانسفارمر جل رہا ہے شعلے نکل رہے ہیں",
        ],
        "mixed": [
            "{place} mein aag lag gayi hai, the whole building is burning",
            "Sir {place} ke paas fire hai, dhuan hi dhuan hai, send fire brigade",
            "Please jaldi {place} par shop mein aag lagi hai and it is spreading",
        ],
    },
    "medical_emergency": {
        "en": [
            "My father collapsed at {place} and is not breathing properly",
            "A man fainted near {place} and is unconscious, we need an ambulance",
            "My mother is having a heart attack, we are at {place}",
            "A woman is in labour at {place}, please send an ambulance",
            "An old man fell down near {place} and is having a seizure",
        ],
        "roman": [
            "{place} mein mere abbu behosh ho gaye hain saans nahi le rahe",
            "{place} ke paas aik aadmi gir gaya hai behosh hai ambulance bhejo",
            "meri ammi ko dil ka daura para hai hum {place} mein hain",
            "{place} par aurat ki tabiyat bahut kharab hai hospital le jana hai",
            "{place} ke samne buzurg gir gaye unko daura par raha hai",
        ],
        "ur": [
            "{place} میں میرے ابو بے ہوش ہو گئے ہیں سانس نہیں لے رہے",
            "{place} کے پاس ایک آدمی گر گیا ہے ایمبولینس بھیجیں",
            "میری امی کو دل کا دورہ پڑا ہے ہم {place} میں ہیں",
            "{place} کے سامنے بزرگ گر گئے ہیں ان کو دورہ پڑ رہا ہے",
        ],
        "mixed": [
            "{place} mein my father behosh ho gaye, please send an ambulance",
            "Sir {place} ke paas a man collapsed, saans nahi le raha",
            "Ammi ko heart attack hua hai, we are at {place}, jaldi",
        ],
    },
    "kidnapping_missing_person": {
        "en": [
            "My son has been missing since morning, he was last seen at {place}",
            "Some men forced a girl into a car at {place} and drove off",
            "My daughter was kidnapped near {place}",
            "A child is lost at {place}, we cannot find him anywhere",
            "My brother was abducted from {place} by armed men",
        ],
        "roman": [
            "mera beta subah se laapata hai aakhri baar {place} mein dekha gaya",
            "{place} ke paas kuch log aik larki ko gari mein utha kar le gaye",
            "meri beti ko {place} se agwa kar liya gaya hai",
            "{place} mein bacha gum ho gaya hai mil nahi raha",
            "{place} se mere bhai ko aslah bardar utha le gaye",
        ],
        "ur": [
            "میرا بیٹا صبح سے لاپتہ ہے آخری بار {place} میں دیکھا گیا",
            "{place} کے پاس کچھ لوگ ایک لڑکی کو گاڑی میں اٹھا کر لے گئے",
            "میری بیٹی کو {place} سے اغوا کر لیا گیا ہے",
            "{place} میں بچہ گم ہو گیا ہے مل نہیں رہا",
        ],
        "mixed": [
            "Sir mera beta missing hai since morning, last seen at {place}",
            "{place} se my daughter ko agwa kar liya gaya hai",
            "Please help, {place} mein bacha lost ho gaya hai, mil nahi raha",
        ],
    },
    "domestic_violence": {
        "en": [
            "My husband is beating me at home in {place}",
            "My in-laws locked me in a room at {place} and hit me",
            "A man is beating his wife next door in {place}, she is screaming",
            "My father-in-law threatened to kill me, I live in {place}",
            "My husband beats me every day and today he hit me with a rod, {place}",
        ],
        "roman": [
            "mera shohar mujhe maar raha hai hum {place} mein rehte hain",
            "{place} mein susral walon ne mujhe kamre mein band kar ke maara",
            "{place} mein hamsaya apni biwi ko maar raha hai wo cheekh rahi hai",
            "meri saas aur khawand mujhe roz maarte hain {place} mein",
            "{place} mein mera khawand mujhe marta hai aaj rod se maara",
        ],
        "ur": [
            "میرا شوہر مجھے مار رہا ہے ہم {place} میں رہتے ہیں",
            "{place} میں سسرال والوں نے مجھے کمرے میں بند کر کے مارا",
            "{place} میں ہمسایہ اپنی بیوی کو مار رہا ہے وہ چیخ رہی ہے",
            "{place} میں میرا شوہر مجھے روز مارتا ہے آج ڈنڈے سے مارا",
        ],
        "mixed": [
            "My husband mujhe maar raha hai, please help, {place}",
            "{place} mein susral wale beat me and locked me in a room",
            "Sir mera khawand is beating me again, hum {place} mein hain",
        ],
    },
    "harassment": {
        "en": [
            "A man keeps following me every day near {place}",
            "Some boys are teasing girls outside the college at {place}",
            "Someone is blackmailing me with my pictures, I live in {place}",
            "A man is stalking my sister on her way to {place}",
            "I keep getting threatening messages from a man in {place}",
        ],
        "roman": [
            "{place} ke paas aik aadmi roz mera peecha karta hai",
            "{place} mein college ke bahar larke larkiyon ko tang kar rahe hain",
            "koi mujhe tasveeron se blackmail kar raha hai main {place} mein hoon",
            "{place} jaate hue aik banda meri behen ka picha karta hai",
            "{place} se aik aadmi mujhe dhamkiyan de raha hai messages par",
        ],
        "ur": [
            "{place} کے پاس ایک آدمی روز میرا پیچھا کرتا ہے",
            "{place} میں کالج کے باہر لڑکے لڑکیوں کو تنگ کر رہے ہیں",
            "کوئی مجھے تصویروں سے بلیک میل کر رہا ہے میں {place} میں ہوں",
            "{place} سے ایک آدمی مجھے پیغامات پر دھمکیاں دے رہا ہے",
        ],
        "mixed": [
            "A man roz mera peecha karta hai near {place}",
            "{place} mein some boys are teasing girls, tang kar rahe hain",
            "Sir koi mujhe blackmail kar raha hai with my photos, I am in {place}",
        ],
    },
    "suspicious_activity": {
        "en": [
            "Some unknown men are loitering near {place} since last night",
            "A suspicious car keeps circling our street in {place}",
            "Strangers are watching the houses at {place}",
            "There is a suspicious man checking the locks of cars at {place}",
            "Two strangers have been sitting in a car with no plates near {place} for hours",
        ],
        "roman": [
            "{place} ke paas kuch namaloom afraad raat se ghoom rahe hain",
            "{place} mein aik mashkook gari bar bar chakkar laga rahi hai",
            "{place} par ajnabi log gharon ko dekh rahe hain",
            "{place} mein aik mashkook banda gariyon ke taale check kar raha hai",
            "{place} ke paas bina number plate gari mein do ajnabi ghanton se baithe hain",
        ],
        "ur": [
            "{place} کے پاس کچھ نامعلوم افراد رات سے گھوم رہے ہیں",
            "{place} میں ایک مشکوک گاڑی بار بار چکر لگا رہی ہے",
            "{place} پر اجنبی لوگ گھروں کو دیکھ رہے ہیں",
            "{place} کے پاس بغیر نمبر پلیٹ گاڑی میں دو اجنبی گھنٹوں سے بیٹھے ہیں",
        ],
        "mixed": [
            "{place} mein some unknown men ghoom rahe hain since last night",
            "Sir aik suspicious car bar bar chakkar laga rahi hai in {place}",
            "Ajnabi log are watching the houses at {place}, kuch gharbar lag raha hai",
        ],
    },
    "terrorism_bomb_threat": {
        "en": [
            "There was a loud blast at {place}, I think it was a bomb",
            "Someone called saying there is a bomb in the market at {place}",
            "An unattended bag with wires is lying at {place}",
            "There was an explosion near {place} and many people are hurt",
            "We received a threat that a suicide bomber will attack {place}",
        ],
        "roman": [
            "{place} mein zordar dhamaka hua hai lagta hai bomb tha",
            "kisi ne phone kiya ke {place} ki market mein bam rakha hai",
            "{place} par aik lawaris bag para hai jis mein taarein hain",
            "{place} ke paas dhamaka hua hai bahut log zakhmi hain",
            "dhamki mili hai ke {place} par khudkush hamla hoga",
        ],
        "ur": [
            "{place} میں زوردار دھماکہ ہوا ہے لگتا ہے بم تھا",
            "کسی نے فون کیا کہ {place} کی مارکیٹ میں بم رکھا ہے",
            "{place} پر ایک لاوارث بیگ پڑا ہے جس میں تاریں ہیں",
            "دھمکی ملی ہے کہ {place} پر خودکش حملہ ہوگا",
        ],
        "mixed": [
            "{place} mein blast hua hai, I think it was a bomb",
            "Sir aik unattended bag para hai at {place} with wires",
            "Bomb threat mili hai ke {place} par dhamaka hoga, please jaldi",
        ],
    },
    "traffic_jam_obstruction": {
        "en": [
            "There is a huge traffic jam at {place}, nothing is moving",
            "Protesters have blocked the road at {place}",
            "A broken down truck is blocking the road near {place}",
            "The signal at {place} is not working and traffic is stuck",
            "Cars are wrongly parked and blocking the whole road at {place}",
        ],
        "roman": [
            "{place} par bahut bara traffic jam hai kuch nahi chal raha",
            "{place} mein dharna hai aur sarak band kar di hai",
            "{place} ke paas kharab truck ne rasta band kar diya hai",
            "{place} ka signal band hai aur gariyan phans gayi hain",
            "{place} par galat parking ki wajah se poora rasta band hai",
        ],
        "ur": [
            "{place} پر بہت بڑا ٹریفک جام ہے کچھ نہیں چل رہا",
            "{place} میں دھرنا ہے اور سڑک بند کر دی ہے",
            "{place} کے پاس خراب ٹرک نے رستہ بند کر دیا ہے",
            "{place} پر غلط پارکنگ کی وجہ سے پورا رستہ بند ہے",
        ],
        "mixed": [
            "{place} par huge traffic jam hai, nothing is moving",
            "Sir {place} mein protesters ne road block kar di hai",
            "The signal at {place} band hai and gariyan phans gayi hain",
        ],
    },
    "noise_nuisance": {
        "en": [
            "My neighbours are playing loud music at {place} and it is past midnight",
            "There is a loudspeaker blaring all night near {place}",
            "A party with a DJ is making too much noise in {place}",
            "Boys are setting off fireworks all night at {place}",
            "The wedding hall at {place} is playing music way too loud at 2 am",
        ],
        "roman": [
            "{place} mein hamsaye aadhi raat ko oonchi awaz mein gaane baja rahe hain",
            "{place} ke paas saari raat loud speaker chal raha hai",
            "{place} mein party mein dhol aur shor sharaba ho raha hai",
            "{place} par larke saari raat patakhe chala rahe hain",
            "{place} ke shaadi hall mein raat do baje bhi bahut shor hai",
        ],
        "ur": [
            "{place} میں ہمسائے آدھی رات کو اونچی آواز میں گانے بجا رہے ہیں",
            "{place} کے پاس ساری رات لاؤڈ اسپیکر چل رہا ہے",
            "{place} میں پارٹی میں ڈھول اور شور ہو رہا ہے",
            "{place} کے شادی ہال میں رات دو بجے بھی بہت شور ہے",
        ],
        "mixed": [
            "{place} mein neighbours loud music baja rahe hain at midnight",
            "Sir {place} ke paas saari raat loudspeaker, too much noise",
            "The DJ party in {place} ka shor band karwayen please",
        ],
    },
    "prank_non_emergency": {
        "en": [
            "Hello hello, just testing if this number works",
            "Sorry, wrong number, nothing happened",
            "Ha ha it was just a joke, we were bored",
            "I was just checking, no emergency at all",
            "My friend dared me to call, it is only a prank",
        ],
        "roman": [
            "hello hello bas check kar raha tha number chalta hai ya nahi",
            "sorry ghalat number lag gaya kuch nahi hua",
            "mazaq kar rahe the bore ho rahe the",
            "waise hi call kar li koi masla nahi hai",
            "dost ne kaha tha call karo bas mazak tha",
        ],
        "ur": [
            "ہیلو ہیلو بس چیک کر رہا تھا نمبر چلتا ہے یا نہیں",
            "معاف کیجیے غلط نمبر لگ گیا کچھ نہیں ہوا",
            "مذاق کر رہے تھے بور ہو رہے تھے",
            "دوست نے کہا تھا کال کرو بس مذاق تھا",
        ],
        "mixed": [
            "Hello hello, bas testing kar raha tha, nothing happened",
            "Sorry sir galat number, koi emergency nahi",
            "It was just a joke yaar, mazaq tha",
        ],
    },
    "information_request": {
        "en": [
            "Which police station covers {place}? I need to file a report",
            "How do I check the status of my FIR registered at {place}",
            "I lost my ID card near {place}, what is the procedure",
            "What is the phone number of the police station in {place}",
            "How can I get a character certificate, I live in {place}",
        ],
        "roman": [
            "{place} ka thana kaun sa hai mujhe darkhwast deni hai",
            "{place} thane mein FIR ka status kaise pata karein",
            "{place} ke paas mera shanakhti card gum ho gaya ab kya karun maloomat chahiye",
            "{place} wale thane ka number bata dein",
            "main {place} mein rehta hoon character certificate kaise banwaun",
        ],
        "ur": [
            "{place} کا تھانہ کون سا ہے مجھے درخواست دینی ہے",
            "{place} تھانے میں ایف آئی آر کا سٹیٹس کیسے پتہ کریں",
            "{place} والے تھانے کا نمبر بتا دیں",
            "میں {place} میں رہتا ہوں کریکٹر سرٹیفکیٹ کیسے بنواؤں معلومات چاہیے",
        ],
        "mixed": [
            "{place} ka police station kaun sa hai, I need information",
            "Sir FIR status kaise check karein for {place} thana",
            "Mujhe character certificate ka procedure batayen, I live in {place}",
        ],
    },
}
