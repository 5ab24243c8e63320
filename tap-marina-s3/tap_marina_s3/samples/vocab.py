"""Word lists for realistic-ish sample text (plain data, no logic)."""

WORDS = (
    "dock slip marina harbor boat fuel pump annual transient winter storage haul launch electric "
    "water power mooring pier season monthly deposit refund credit invoice service repair engine "
    "hull cleaning bottom paint shrink wrap kayak pontoon jet ski sunset cruise rental weekend "
    "holiday member club guest parking trailer lift ramp anchor bow stern cleat tide channel buoy "
    "gas diesel oil filter battery canvas cover mast sail rigging bilge propeller"
).split()
ACCENTED = ("café", "Müller", "naïve", "Zürich", "São Paulo", "crème brûlée", "Ångström", "piñata",
            "façade", "Łódź", "Ærø", "jalapeño", "Göteborg", "señor")
EMOJI = ("⚓", "🚤", "🌊", "⛵", "😀", "🐟", "☀️")
FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "José",
         "Zoë", "Renée", "Björn", "Chloé", "Seán", "Ana", "Wei", "Priya", "Olusegun", "Mateo", "Ines")
LAST = ("Smith", "Johnson", "Williams", "Brown", "Garcia", "Müller", "O'Brien", "Nguyen", "Lefèvre",
        "Kowalski", "Da Silva", "Østergaard", "Martinez", "Anderson", "Thompson", "White", "Lopez")
CITIES = ("Miami", "Fort Lauderdale", "Annapolis", "Newport", "San Diego", "Charleston", "Key West",
          "Montréal", "Zürich", "São Paulo", "Tampa", "Seattle", "Traverse City", "Saint-Tropez")
STATES = ("FL", "CA", "MD", "RI", "SC", "WA", "MI", "NY", "TX", "ON", "QC")
COUNTRIES = ("USA", "Canada", "Mexico", "Bahamas", "France", "Deutschland")
COUNTRY3 = ("USA", "CAN", "MEX", "BHS", "FRA", "DEU")
COUNTRY2 = ("US", "CA", "MX", "BS", "FR", "DE")
DOMAINS = ("example.com", "marina.test", "mail.example.org", "boats.example.net")
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Paris", "UTC")
KINDS = ("Active", "Pending", "Confirmed", "Cancelled", "Checked In", "Checked Out", "Hold",
         "Open", "Closed", "Paid", "Void", "Monthly", "Annual", "Seasonal", "Transient", "Card",
         "Cash", "Check", "ACH", "Visa", "Mastercard", "Stripe", "Square", "Sailboat", "Powerboat",
         "Yamaha", "Mercury", "Sea Ray", "Boston Whaler", "Bayliner", "Hourly", "Daily", "Other")
