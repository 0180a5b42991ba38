from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    """HTCDS 2.0 ``cas_Status``."""

    ACTIVE = "Active", _("Active")
    FOLLOW_UP = "FollowUp", _("Follow-up")
    CLOSED = "Closed", _("Closed")
    CLOSED_REFERRED = "ClosedReferred", _("Closed, referred")


class TraffickingStatus(models.TextChoices):
    """HTCDS 2.0 ``vic_TraffickingStatus``."""

    POSSIBLE = "PossibleVictimOfTrafficking", _("Possible victim of trafficking")
    ACTUAL = "ActualVictimOfTrafficking", _("Victim of trafficking")
    NOT_A_VICTIM = "NotAVictimOfTrafficking", _("Not a victim of trafficking")


class PersonRole(models.TextChoices):
    VICTIM = "victim", _("Victim / survivor")
    SUSPECT = "suspect", _("Suspect")
    WITNESS = "witness", _("Witness")
    REPORTER = "reporter", _("Reporter")
    GUARDIAN = "guardian", _("Parent or guardian")
    FAMILY = "family", _("Family member")


class TeamRole(models.TextChoices):
    """What a team member does on the case decides which person details they see (issue #4):
    care officers do not see suspects' details by default; suspect handlers do not see victims'."""

    OWNER = "owner", _("Case owner")
    INVESTIGATOR = "investigator", _("Investigator")
    CARE = "care", _("Victim care officer")
    SUSPECT_HANDLER = "suspect_handler", _("Investigator (suspects only)")


class ShareScope(models.TextChoices):
    FULL = "full", _("Whole case")
    VICTIMS = "victims", _("Victims and care only")
    SUSPECTS = "suspects", _("Suspects and investigation only")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    INTERSEX = "intersex", _("Intersex")
    UNKNOWN = "unknown", _("Unknown")


class Gender(models.TextChoices):
    """HTCDS 2.0 ``prs_Gender``."""

    FEMININE = "Feminine", _("Feminine")
    MASCULINE = "Masculine", _("Masculine")
    TRANS_FEMININE = "TransgenderFeminine", _("Transgender feminine")
    TRANS_MASCULINE = "TransgenderMasculine", _("Transgender masculine")
    NON_CONFORMING = "NonConforming", _("Non-conforming")
    UNKNOWN = "NonSpecifiedUnknown", _("Not specified / unknown")


class AgeEstimation(models.TextChoices):
    DOCUMENT = "document", _("From an identity document")
    STATED = "stated", _("Stated by the person")
    ASSESSMENT = "assessment", _("Formal age assessment")
    APPEARANCE = "appearance", _("Officer's estimate from appearance")
    UNKNOWN = "unknown", _("Unknown")


class IdentifierKind(models.TextChoices):
    """Things that identify people and link cases (issue #4). All values are encrypted; a keyed blind index
    of the normalised value finds the same identifier in other cases."""

    ID_DOCUMENT = "id_document", _("Identity document")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social-media handle")
    ADDRESS = "address", _("Address")
    VEHICLE = "vehicle", _("Vehicle")
    BANK_ACCOUNT = "bank_account", _("Bank account")
    ONLINE_PROFILE = "online_profile", _("Online profile or website")


class DocumentType(models.TextChoices):
    PASSPORT = "passport", _("Passport")
    NATIONAL_ID = "national_id", _("National identity card")
    DRIVING_LICENCE = "driving_licence", _("Driving licence")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    RESIDENCE_PERMIT = "residence_permit", _("Residence or work permit")
    REFUGEE_ID = "refugee_id", _("Refugee or asylum-seeker document")
    OTHER = "other", _("Other")


class PlaceKind(models.TextChoices):
    """HTCDS 2.0 ``hte_Type``."""

    RECRUITMENT = "Recruitment", _("Recruitment")
    TRANSIT = "Transit", _("Transit")
    EXPLOITATION = "Exploitation", _("Exploitation")


class ExploitationForm(models.TextChoices):
    """The UNODC GLOTIP form of exploitation a victim is counted under (one per victim, derived from the
    HTCDS types): sexual exploitation alone, forced labour alone (forced or child labour, servitude), or
    other forms, which include every mix of forms."""

    SEXUAL = "sexual", _("Sexual exploitation")
    LABOUR = "labour", _("Forced labour")
    OTHER = "other", _("Other forms of exploitation")
    UNKNOWN = "", _("Not recorded")


class ExploitationType(models.TextChoices):
    """HTCDS 2.0 ``vic_TypeOfExploitation``."""

    FORCED_LABOUR = "ForcedLabour", _("Forced labour")
    SEXUAL = "SexualExploitation", _("Sexual exploitation")
    CHILD_LABOUR = "ChildLabour", _("Child labour")
    FORCED_MARRIAGE = "ForcedMarriage", _("Forced marriage")
    SERVITUDE = "Servitude", _("Servitude")
    FORCED_MILITARY = "ForcedMilitaryByNonStateActors", _("Forced military service by non-state actors")
    ORGAN_REMOVAL = "OrganRemoval", _("Removal of organs")
    FORCED_BEGGING = "ForcedBegging", _("Forced begging")
    FORCED_ADOPTION = "ForcedAdoption", _("Forced adoption")
    SURROGACY = "Surrogacy", _("Surrogacy")
    OTHER = "Other", _("Other")


class ForcedLabourIndustry(models.TextChoices):
    """HTCDS 2.0 ``vic_ForcedLabourIndustry`` (ISIC sections)."""

    A = "A_AgricultureForestryAndFishing", _("Agriculture, forestry and fishing")
    B = "B_MiningAndQuarrying", _("Mining and quarrying")
    C = "C_Manufacturing", _("Manufacturing")
    D = "D_ElectricityGasSteamAndAirConditioningSupply", _("Electricity, gas, steam and air conditioning")
    E = "E_WaterSupplySewerageWasteManagement", _("Water supply, sewerage, waste management")
    F = "F_Construction", _("Construction")
    G = "G_WholesaleAndRetailTradeRepairOfMotorVehicles", _("Wholesale and retail trade, motor vehicle repair")
    H = "H_TransportationAndStorage", _("Transportation and storage")
    I = "I_AccommodationAndFoodServiceActivities", _("Accommodation and food services")  # noqa: E741
    J = "J_InformationAndCommunication", _("Information and communication")
    K = "K_FinancialAndInsuranceActivities", _("Financial and insurance activities")
    L = "L_RealEstateActivities", _("Real estate")
    M = "M_ProfessionalScientificAndTechnicalActivities", _("Professional, scientific and technical activities")
    N = "N_AdministrativeAndSupportServiceActivities", _("Administrative and support services")
    O = "O_PublicAdministrationAndDefence", _("Public administration and defence")  # noqa: E741
    P = "P_Education", _("Education")
    Q = "Q_HumanHealthAndSocialWorkActivities", _("Health and social work")
    R = "R_ArtsEntertainmentAndRecreation", _("Arts, entertainment and recreation")
    S = "S_OtherServiceActivities", _("Other services")
    T = "T_ActivitiesOfHouseholdsAsEmployers", _("Households as employers (domestic work)")
    U = "U_ActivitiesOfExtraterritorialOrganizations", _("Extraterritorial organisations")


class SexExploitationType(models.TextChoices):
    """HTCDS 2.0 ``vic_TypeOfSexExploitation``."""

    PROSTITUTION = "Prostitution", _("Prostitution")
    PORNOGRAPHY = "Pornography", _("Pornography")
    REMOTE = "RemoteInteractiveServices", _("Remote interactive services (webcam)")
    PRIVATE = "PrivateSexualServices", _("Private sexual services")


class ControlMethod(models.TextChoices):
    """HTCDS 2.0 ``vic_MethodsOfControl``."""

    PHYSICAL_THREATS = "PhysicalThreats", _("Physical threats")
    THREATS_LAW = "ThreatsLawEnforcement", _("Threats of reporting to police or immigration")
    THREATENS_FAMILY = "ThreatensChildrenFamily", _("Threats against children or family")
    DEBT_BONDAGE = "DebtBondage", _("Debt bondage")
    FALSE_PROMISES = "FalsePromises", _("False promises")
    PHYSICAL_ABUSE = "PhysicalAbuse", _("Physical abuse")
    SEXUAL_ABUSE = "SexualAbuse", _("Sexual abuse")
    TAKES_EARNINGS = "TakesEarnings", _("Takes earnings")
    RESTRICTS_FINANCE = "RestrictsFinancialAccess", _("Restricts access to money")
    RESTRICTS_MEDICAL = "RestrictsMedicalCare", _("Restricts medical care")
    WITHHOLDS_NECESSITIES = "WithholdsNecessities", _("Withholds food, sleep or other necessities")
    PSYCHOLOGICAL = "PsychologicalAbuse", _("Psychological abuse")
    SUBSTANCES = "PsychoactiveSubstance", _("Psychoactive substances")
    EXCESSIVE_HOURS = "ExcessiveWorkingHours", _("Excessive working hours")
    WITHHOLDS_DOCUMENTS = "WithholdsDocuments", _("Withholds documents")
    OTHER = "Other", _("Other")


class RecruitmentMethod(models.TextChoices):
    """HTCDS 2.0 ``vic_MethodOfRecruitment``."""

    BUSINESS = "AtAPlaceOfBusiness", _("At a place of business")
    EDUCATION = "AtAnEducationalInstitution", _("At an educational institution")
    WORK = "AtWork", _("At work")
    SOCIAL = "ThroughOnlineSocialNetworks", _("Online social networks")
    ONLINE_AD = "ThroughAnOnlineAdvertisement", _("Online advertisement")
    TV_AD = "ThroughATelevisionAdvert", _("Television advert")
    NEWSPAPER_AD = "ThroughANewspaperAdvert", _("Newspaper advert")
    FAMILY = "ThroughFamilyOrFamilyEvents", _("Family or family events")
    FRIENDS = "ThroughFriendsOrSocialEvents", _("Friends or social events")
    OTHER = "Other", _("Other")


class WebsiteOrApp(models.TextChoices):
    """HTCDS 2.0 ``vic_RecruitmentWebsitesAndApps`` / ``vic_ExploitationWebsitesAndApps``."""

    FACEBOOK = "Facebook", "Facebook"
    INSTAGRAM = "Instagram", "Instagram"
    WHATSAPP = "WhatsApp", "WhatsApp"
    TELEGRAM = "Telegram", "Telegram"
    MESSENGER = "FacebookMessenger", "Facebook Messenger"
    VIBER = "Viber", "Viber"
    SNAPCHAT = "SnapChat", "Snapchat"
    LINE = "Line", "Line"
    FOURSALE = "4Sale", "4Sale"
    WECHAT = "WeChat", "WeChat"
    QQ = "QQ", "QQ"
    QZONE = "QZone", "QZone"
    TIKTOK = "TikTok", "TikTok"
    TWITTER = "Twitter", "Twitter / X"
    OTHER = "Other", _("Other")


class RelationshipToTrafficker(models.TextChoices):
    """HTCDS 2.0 ``vic_RelationshipToTrafficker`` (the standard spells it 'Unaquainted')."""

    FAMILIAL = "Familial", _("Family")
    ACQUAINTED = "Acquainted", _("Acquaintance")
    UNACQUAINTED = "Unaquainted", _("Stranger")


class Vulnerability(models.TextChoices):
    """HTCDS 2.0 ``vic_Vulnerabilities``."""

    ADDICTION = "Addiction", _("Addiction")
    SOCIAL_GROUP = "SocialGroup", _("Social group")
    DISCRIMINATION = "Discrimination", _("Discrimination")
    POVERTY = "Poverty", _("Poverty")
    DISABILITY = "DisabilityAndPhysicalHealth", _("Disability and physical health")
    MENTAL_HEALTH = "MentalHealth", _("Mental health")
    MIGRATION = "Migration", _("Migration")
    HOMELESSNESS = "Homelessness", _("Homelessness")
    SOCIAL_MEDIA = "AbuseSocialMedia", _("Abuse through social media")
    PHYSICAL = "AbusePhysical", _("Physical abuse")
    EDUCATION = "Education", _("Education")
    WORK = "WorkEnvironment", _("Work environment")


class PerpetratorRole(models.TextChoices):
    """HTCDS 2.0 ``per_RoleInProcess``."""

    TRAVELLING_PARTNER = "TravellingPartner", _("Travelling partner")
    TRANSPORTER = "Transporter", _("Transporter")
    RECRUITER = "RecruiterOrIntermediary", _("Recruiter or intermediary")
    BROKER = "BrokerTravelAgent", _("Broker or travel agent")
    TRANSFERRED = "TransferredIndividual", _("Transferred the person")
    HARBOURED = "HarbouredIndividual", _("Harboured the person")
    SOLD = "SoldIndividual", _("Sold the person")
    BOUGHT = "BoughtIndividual", _("Bought the person")
    RECEIVED = "ReceivedIndividual", _("Received the person")
    CONTROLLED = "ControlledIndividual", _("Controlled the person")
    SMUGGLER = "Smuggler", _("Smuggler")
    ABUSER = "Abuser", _("Abuser")
    KIDNAPPER = "Kidnapper", _("Kidnapper")
    EXPLOITER = "Exploiter", _("Exploiter")
    OTHER = "Other", _("Other")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    DOCUMENT = "document", _("Document")
    STATEMENT = "statement", _("Statement")
    OTHER = "other", _("Other")


GLOTIP_SEXUAL_TYPES = frozenset({ExploitationType.SEXUAL})
GLOTIP_LABOUR_TYPES = frozenset({ExploitationType.FORCED_LABOUR, ExploitationType.CHILD_LABOUR, ExploitationType.SERVITUDE})


def exploitation_form(types) -> str:
    """The GLOTIP form (``ExploitationForm``) for a list of HTCDS ``vic_TypeOfExploitation`` values."""
    found = {str(t) for t in (types or [])}
    if not found:
        return ExploitationForm.UNKNOWN
    if found <= GLOTIP_SEXUAL_TYPES:
        return ExploitationForm.SEXUAL
    if found <= GLOTIP_LABOUR_TYPES:
        return ExploitationForm.LABOUR
    return ExploitationForm.OTHER
