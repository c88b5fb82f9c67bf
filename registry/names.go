package registry

// Name tables for the demo registry: Bangla spelling first, then the English
// transliterations met in passports and lists. Read-only.

type nameForms struct {
	bn string
	en []string
}

// maleNamePrefix pairs the Muhammad prefix in Bangla with its usual English forms.
var maleNamePrefix = []nameForms{
	{"মোহাম্মদ", []string{"Mohammad", "Mohammed"}},
	{"মুহাম্মদ", []string{"Muhammad"}},
	{"মোঃ", []string{"Md.", "Md", "Mohd."}},
}

var femaleNamePrefix = []nameForms{
	{"মোছাম্মৎ", []string{"Mosammat", "Mosammot", "Mossammat"}},
	{"মোছাঃ", []string{"Mst.", "Most.", "Mst"}},
}

var maleGivenNames = []nameForms{
	{"আব্দুর রহমান", []string{"Abdur Rahman", "Abdur Rahaman", "Abdur Rehman"}},
	{"আব্দুল করিম", []string{"Abdul Karim", "Abdul Kareem"}},
	{"আব্দুল হক", []string{"Abdul Haque", "Abdul Hoque", "Abdul Hak"}},
	{"আব্দুল আজিজ", []string{"Abdul Aziz", "Abdul Ajij"}},
	{"আবুল কালাম", []string{"Abul Kalam"}},
	{"আবুল হোসেন", []string{"Abul Hossain", "Abul Hossen", "Abul Hussain"}},
	{"নূরুল ইসলাম", []string{"Nurul Islam", "Noorul Islam"}},
	{"সিরাজুল ইসলাম", []string{"Sirajul Islam", "Serajul Islam"}},
	{"আমিনুল ইসলাম", []string{"Aminul Islam"}},
	{"রফিকুল ইসলাম", []string{"Rafiqul Islam", "Rafikul Islam"}},
	{"শফিকুল ইসলাম", []string{"Shafiqul Islam", "Shafikul Islam"}},
	{"নজরুল ইসলাম", []string{"Nazrul Islam", "Nojrul Islam"}},
	{"সাইফুল ইসলাম", []string{"Saiful Islam"}},
	{"জাহাঙ্গীর আলম", []string{"Jahangir Alam"}},
	{"আলমগীর হোসেন", []string{"Alamgir Hossain", "Alamgir Hossen"}},
	{"কামাল উদ্দিন", []string{"Kamal Uddin", "Kamal Uddeen"}},
	{"জামাল উদ্দিন", []string{"Jamal Uddin"}},
	{"জসিম উদ্দিন", []string{"Jasim Uddin", "Jashim Uddin"}},
	{"হাবিবুর রহমান", []string{"Habibur Rahman", "Habibur Rohman"}},
	{"মিজানুর রহমান", []string{"Mizanur Rahman", "Mijanur Rahman"}},
	{"মতিউর রহমান", []string{"Motiur Rahman", "Matiur Rahman"}},
	{"আনোয়ার হোসেন", []string{"Anwar Hossain", "Anowar Hossain", "Anwar Hussain"}},
	{"দেলোয়ার হোসেন", []string{"Delwar Hossain", "Delowar Hossain"}},
	{"তোফাজ্জল হোসেন", []string{"Tofazzal Hossain", "Tofajjal Hossain"}},
	{"ইসমাইল হোসেন", []string{"Ismail Hossain", "Esmail Hossain"}},
	{"মোস্তফা কামাল", []string{"Mostafa Kamal", "Mustafa Kamal"}},
	{"গোলাম মোস্তফা", []string{"Golam Mostafa", "Gulam Mustafa"}},
	{"ইউসুফ আলী", []string{"Yusuf Ali", "Eusuf Ali", "Yousuf Ali"}},
	{"ইব্রাহিম খলিল", []string{"Ibrahim Khalil", "Ebrahim Khalil"}},
	{"হারুনুর রশিদ", []string{"Harunur Rashid", "Harunur Roshid"}},
	{"মনিরুজ্জামান", []string{"Moniruzzaman", "Muniruzzaman"}},
	{"শাহ আলম", []string{"Shah Alam"}},
	{"আবু বকর সিদ্দিক", []string{"Abu Bakar Siddique", "Abu Bakkar Siddik"}},
	{"ওমর ফারুক", []string{"Omar Faruk", "Omar Faruque", "Umar Farooq"}},
	{"আলী আকবর", []string{"Ali Akbar"}},
	{"আজিজুল হক", []string{"Azizul Haque", "Azizul Hoque"}},
}

var maleSurnames = []nameForms{
	{"মিয়া", []string{"Mia", "Miah", "Mian"}},
	{"খান", []string{"Khan"}},
	{"চৌধুরী", []string{"Chowdhury", "Choudhury"}},
	{"সরকার", []string{"Sarkar", "Sarker"}},
	{"তালুকদার", []string{"Talukder", "Talukdar"}},
	{"ভূঁইয়া", []string{"Bhuiyan", "Bhuiya", "Bhuyan"}},
	{"মোল্লা", []string{"Molla", "Mollah"}},
	{"শেখ", []string{"Sheikh", "Shaikh"}},
	{"পাটোয়ারী", []string{"Patwary", "Patwari"}},
	{"হাওলাদার", []string{"Howlader", "Hawlader"}},
	{"প্রধান", []string{"Prodhan", "Pradhan"}},
	{"মৃধা", []string{"Mridha"}},
}

var femaleGivenNames = []nameForms{
	{"ফাতেমা", []string{"Fatema", "Fatima"}},
	{"আয়েশা", []string{"Ayesha", "Aysha", "Aisha"}},
	{"খাদিজা", []string{"Khadija", "Khadiza"}},
	{"রহিমা", []string{"Rahima", "Rohima"}},
	{"সালমা", []string{"Salma"}},
	{"নাসরিন", []string{"Nasrin", "Nasreen"}},
	{"রোকেয়া", []string{"Rokeya", "Rokeya"}},
	{"হালিমা", []string{"Halima"}},
	{"জাহানারা", []string{"Jahanara"}},
	{"শাহনাজ", []string{"Shahnaz", "Shanaz"}},
	{"রাবেয়া", []string{"Rabeya", "Rabea"}},
	{"মরিয়ম", []string{"Mariam", "Maryam", "Morium"}},
	{"সুফিয়া", []string{"Sufia", "Sufiya"}},
	{"আমেনা", []string{"Amena", "Amina"}},
	{"কুলসুম", []string{"Kulsum", "Kulsoom"}},
	{"হাসিনা", []string{"Hasina"}},
	{"রাশিদা", []string{"Rashida", "Roshida"}},
	{"শিরিন", []string{"Shirin", "Shireen"}},
	{"নূরজাহান", []string{"Nurjahan", "Noorjahan"}},
	{"মমতাজ", []string{"Momtaz", "Mumtaz"}},
	{"জোহরা", []string{"Johora", "Zohra"}},
	{"মাহমুদা", []string{"Mahmuda"}},
	{"পারভীন", []string{"Parvin", "Parveen"}},
}

var femaleSurnames = []nameForms{
	{"বেগম", []string{"Begum", "Begom"}},
	{"খাতুন", []string{"Khatun", "Khatoon"}},
	{"আক্তার", []string{"Akter", "Akhter", "Aktar"}},
	{"বিবি", []string{"Bibi"}},
}

var agencyNameStems = []string{
	"Al-Haramain", "Al-Madina", "Bismillah", "Baitul Aman", "Sonar Bangla", "Al-Amin", "Makka", "Rahmania",
	"Al-Falah", "Zamzam", "Safa Marwa", "Noor", "Labbaik", "Green Crescent", "Al-Ihsan", "Tawakkal", "Hijaz",
	"Al-Marwah", "Sylhet", "Chattogram", "Bogura", "Barishal", "Mina", "Arafat", "Al-Noor", "Darul Hikma",
}

var agencyNameKinds = []string{"Hajj Kafela", "Air Travels", "Hajj Group", "Tours & Travels", "Hajj Services", "Overseas"}

// mobilePrefixes are Bangladesh's mobile operator codes (013–019).
var mobilePrefixes = []string{"13", "14", "15", "16", "17", "18", "19"}
